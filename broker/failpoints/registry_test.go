package failpoints

import (
	"go/ast"
	"go/parser"
	"go/token"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestRegistryComplete: every Name constant of registry.go is in All (and
// nothing else is), names are unique and Planted is a subset of All.
func TestRegistryComplete(t *testing.T) {
	f, err := parser.ParseFile(token.NewFileSet(), "registry.go", nil, parser.ParseComments)
	require.NoError(t, err)
	var consts []string
	for _, d := range f.Decls {
		g, ok := d.(*ast.GenDecl)
		if !ok || g.Tok != token.CONST {
			continue
		}
		for _, s := range g.Specs {
			vs := s.(*ast.ValueSpec)
			if id, ok := vs.Type.(*ast.Ident); !ok || id.Name != "Name" {
				continue
			}
			require.NotNil(t, vs.Doc, "every point is documented: %s", vs.Names[0].Name)
			for _, n := range vs.Names {
				consts = append(consts, n.Name)
			}
		}
	}
	require.Len(t, All, len(consts), "All lists every constant of registry.go: %v", consts)
	seen := map[Name]bool{}
	for _, n := range All {
		require.False(t, seen[n], "duplicate name %s", n)
		seen[n] = true
		require.True(t, strings.HasPrefix(string(n), "ordo/"), "%s", n)
		require.NotContains(t, string(n), "=")
		require.NotContains(t, string(n), ";")
		require.True(t, Known(n))
	}
	for _, n := range Planted {
		require.True(t, slices.Contains(All, n), "%s", n)
	}
	require.False(t, Known("ordo/partition/no-such-point"))
}

func TestEvalWithoutTag(t *testing.T) {
	if Enabled {
		t.Skip("built with -tags failpoints")
	}
	for _, n := range All {
		_, ok := Eval(n, 0)
		require.False(t, ok)
	}
}

func TestInt(t *testing.T) {
	require.Equal(t, 5, Int(5, 1))
	require.Equal(t, 1, Int(true, 1))
	require.Equal(t, 1, Int(struct{}{}, 1))
	require.Equal(t, 1, Int(nil, 1))
}
