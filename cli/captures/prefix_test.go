package captures

import (
	"strings"
	"testing"
)

func TestCapturesListShortIDsStayUnique(t *testing.T) {
	got := uniquePrefixes([]string{"c_0123456789abcdef0", "c_0123456789abcdef1", "c_zzzzzzzzzzzzzzzz"}, 12)
	want := []string{"c_0123456789abcdef0", "c_0123456789abcdef1", "c_zzzzzzzzzz"}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("got %v, want %v", got, want)
	}
}
