package main

import (
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
)

const modulePath = "github.com/omega-listen/omega-listen"

// allowed mirrors the import table of DESIGN.md ("The house"): a package may
// import only the project packages its row names. TestArchMatchesDesign keeps
// the two in step when the design file is at hand.
var allowed = map[string][]string{
	"":               {"cli"},
	"cli":            {"*"},
	"omega":          {},
	"omega/emulator": {"omega"},
	"capture":        {},
	"tunnel":         {},
	"inspector":      {"capture", "omega"},
	"replay":         {"capture", "inspector", "omega"},
	"tui":            {"capture", "omega"},
	// bench is a developer tool (`go run ./bench`), not part of the binary;
	// it may borrow Omega's sample events and nothing else.
	"bench": {"omega"},
}

func TestArchImports(t *testing.T) {
	imports := projectImports(t)
	if len(imports) < 2 {
		t.Fatalf("found only %d packages; is the test running at the module root?", len(imports))
	}
	for pkg, deps := range imports {
		rule, ok := allowed[pkg]
		if !ok {
			t.Errorf("package %q is not in the import table of DESIGN.md; add it there and to allowed", pkgName(pkg))
			continue
		}
		for _, d := range deps {
			if !permits(rule, d) {
				t.Errorf("%s imports %s, which DESIGN.md's table does not allow (allowed: %v)", pkgName(pkg), d, rule)
			}
		}
	}
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

// TestArchMatchesDesign checks allowed against the table in DESIGN.md when
// the shared design folder sits beside the checkout (as it does for
// developers and CI).
func TestArchMatchesDesign(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("..", "shared", "DESIGN.md"))
	if err != nil {
		t.Skipf("DESIGN.md not beside the checkout (%v); TestArchImports still enforces the table", err)
	}
	text := string(data)
	start := strings.Index(text, "| package | may import |")
	if start < 0 {
		t.Fatal("DESIGN.md has no import table (a row \"| package | may import |\")")
	}
	text = text[start:]
	if end := strings.Index(text, "\n\n"); end > 0 {
		text = text[:end]
	}
	rows := regexp.MustCompile(`(?m)^\| ([a-z/, ]+) \| (.+) \|$`).FindAllStringSubmatch(text, -1)
	design := map[string]string{}
	for _, r := range rows {
		if r[1] == "package" {
			continue // the header row
		}
		for _, p := range strings.Split(r[1], ",") {
			design[strings.TrimSpace(p)] = r[2]
		}
	}
	for pkg, rule := range allowed {
		name := pkgName(pkg)
		if name == "bench" || name == "omega/emulator" {
			continue // not rows of the table: bench is a dev tool; the emulator is named in omega's row
		}
		text, ok := design[name]
		if !ok {
			t.Errorf("DESIGN.md has no import-table row for %s", name)
			continue
		}
		for _, dep := range rule {
			if dep == "*" {
				if !strings.Contains(text, "everything") {
					t.Errorf("DESIGN.md row %s = %q, but allowed says everything", name, text)
				}
				continue
			}
			if !regexp.MustCompile(`\b` + regexp.QuoteMeta(pkgName(dep)) + `\b`).MatchString(text) {
				t.Errorf("allowed lets %s import %s, but DESIGN.md's row says %q", name, pkgName(dep), text)
			}
		}
	}
	// And nothing the design forbids slipped into allowed.
	var names []string
	for n := range design {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		pkg := n
		if n == "main" {
			pkg = ""
		}
		if _, ok := allowed[pkg]; !ok {
			t.Errorf("DESIGN.md lists %s but allowed does not", n)
		}
	}
}
