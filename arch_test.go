package main

import (
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

const modulePath = "github.com/omega-listen/omega-listen"

// TestArchImports holds every project package to its row of the import
// table in ARCHITECTURE.md. A package under X/internal/ has X's row; a
// package under cli/ has cli's.
func TestArchImports(t *testing.T) {
	allowed := archTable(t)
	imports := projectImports(t)
	if len(imports) < 2 {
		t.Fatalf("found only %d packages; is the test running at the module root?", len(imports))
	}
	for pkg, deps := range imports {
		rule, ok := allowed[rowOf(pkg)]
		if !ok {
			t.Errorf("package %q has no row in ARCHITECTURE.md's import table; add one (and a line in \"The house\")", pkgName(pkg))
			continue
		}
		for _, d := range deps {
			if d == pkg || strings.HasPrefix(d, pkg+"/internal/") || rowOf(d) == rowOf(pkg) {
				continue // a package's own internal packages
			}
			if !permits(rule, rowOf(d)) {
				t.Errorf("%s imports %s, which ARCHITECTURE.md's table does not allow (allowed: %v)", pkgName(pkg), pkgName(d), rule)
			}
		}
	}
	for row := range allowed {
		if _, ok := imports[row]; !ok && row != "" {
			found := false
			for pkg := range imports {
				if rowOf(pkg) == row {
					found = true
				}
			}
			if !found {
				t.Errorf("ARCHITECTURE.md has a row for %s, but there is no such package", row)
			}
		}
	}
}

// rowOf names the row of the import table that governs pkg.
func rowOf(pkg string) string {
	if i := strings.Index(pkg, "/internal/"); i >= 0 {
		pkg = pkg[:i]
	} else if strings.HasSuffix(pkg, "/internal") {
		pkg = strings.TrimSuffix(pkg, "/internal")
	}
	if strings.HasPrefix(pkg, "cli/") {
		return "cli"
	}
	return pkg
}

// archTable reads the import table of ARCHITECTURE.md: package (module-relative,
// "" for main) to the rows it may import ("*" for everything).
func archTable(t *testing.T) map[string][]string {
	t.Helper()
	data, err := os.ReadFile("ARCHITECTURE.md")
	if err != nil {
		t.Fatalf("the import table lives in ARCHITECTURE.md: %v", err)
	}
	text := string(data)
	start := strings.Index(text, "| package | may import |")
	if start < 0 {
		t.Fatal("ARCHITECTURE.md has no import table (a row \"| package | may import |\")")
	}
	text = text[start:]
	if end := strings.Index(text, "\n\n"); end > 0 {
		text = text[:end]
	}
	rows := regexp.MustCompile(`(?m)^\| ([a-z/, ]+) \| (.+) \|$`).FindAllStringSubmatch(text, -1)
	if len(rows) < 3 {
		t.Fatalf("ARCHITECTURE.md's import table has %d rows", len(rows))
	}
	table := map[string][]string{}
	for _, r := range rows {
		if r[1] == "package" {
			continue
		}
		var deps []string
		switch {
		case strings.Contains(r[2], "everything"):
			deps = []string{"*"}
		case strings.Contains(r[2], "nothing of the project"):
		default:
			for _, d := range strings.Split(r[2], ",") {
				d = strings.TrimSpace(d)
				if d == "main" {
					d = ""
				}
				deps = append(deps, d)
			}
		}
		for _, p := range strings.Split(r[1], ",") {
			p = strings.TrimSpace(p)
			if p == "main" {
				p = ""
			}
			if _, dup := table[p]; dup {
				t.Errorf("ARCHITECTURE.md has two rows for %s", pkgName(p))
			}
			table[p] = deps
		}
	}
	return table
}

func permits(rule []string, dep string) bool {
	for _, r := range rule {
		if r == "*" || r == dep {
			return true
		}
	}
	return false
}

func pkgName(p string) string {
	if p == "" {
		return "main"
	}
	return p
}

// projectImports maps each project package (by path relative to the module)
// to the project packages its non-test files import.
func projectImports(t *testing.T) map[string][]string {
	t.Helper()
	out := map[string][]string{}
	fset := token.NewFileSet()
	err := filepath.WalkDir(".", func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			name := d.Name()
			if path != "." && (strings.HasPrefix(name, ".") || name == "testdata" || name == "vendor") {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(fset, path, nil, parser.ImportsOnly)
		if err != nil {
			return err
		}
		pkg := filepath.ToSlash(filepath.Dir(path))
		if pkg == "." {
			pkg = ""
		}
		if _, ok := out[pkg]; !ok {
			out[pkg] = nil
		}
		for _, imp := range f.Imports {
			p := strings.Trim(imp.Path.Value, `"`)
			if p == modulePath {
				out[pkg] = append(out[pkg], "")
			} else if rel, ok := strings.CutPrefix(p, modulePath+"/"); ok {
				out[pkg] = append(out[pkg], rel)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}
