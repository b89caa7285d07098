// Package apollo composes Apollo Federation v2 subgraphs into a supergraph with
// Apollo's own composition library (@apollo/composition, run by Node.js), so that
// the toolkit's subgraph SDL is checked by the same code a gateway's build uses.
//
// The npm packages are the ones compose/package.json and compose/package-lock.json
// pin, installed on first use into the development cache by internal/devenv; Node
// 20 or later and npm must be on the PATH, and the program must run inside the
// module's checkout (the script is found from the module root).
//
//	c, err := apollo.Compose(ctx, []apollo.Subgraph{
//		{Name: "users", URL: "http://users/graphql", SDL: usersSDL},
//		{Name: "orders", URL: "http://orders/graphql", SDL: ordersSDL},
//	})
//	// err lists each composition error with its code; c.Hints the hints.
package apollo

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/cassandraorm/cassandraorm-go/internal/devenv"
)

// Subgraph is one subgraph to compose: its name, the URL a gateway reaches it at,
// and the SDL its _service { sdl } serves.
type Subgraph struct {
	Name string
	URL  string
	SDL  string
}

// Hint is a composition hint: something composition accepted but flags, with
// Apollo's code for it (e.g. INCONSISTENT_OBJECT_VALUE_TYPE_FIELD).
type Hint struct {
	Code    string
	Message string
}

// Composition is a successful composition: the supergraph SDL a gateway serves,
// and the hints composition gave.
type Composition struct {
	Supergraph string
	Hints      []Hint
}

// CompositionError is a failed composition: each error Apollo's composition
// reported, with the subgraphs composed.
type CompositionError struct {
	Subgraphs []string
	Errors    []Hint
}

func (e *CompositionError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "apollo: composing subgraphs %s: %d error(s)", strings.Join(e.Subgraphs, ", "), len(e.Errors))
	for _, x := range e.Errors {
		fmt.Fprintf(&b, "\n  %s: %s", x.Code, x.Message)
	}
	return b.String()
}

// scriptDir is the folder of compose.mjs and its package files, under the module root.
const scriptDir = "internal/apollo/compose"

// Compose composes subgraphs with @apollo/composition. A composition that fails
// returns a *CompositionError naming every error's code and message; a failure to
// run Node or install its packages returns that error.
func Compose(ctx context.Context, subgraphs []Subgraph) (*Composition, error) {
	if len(subgraphs) == 0 {
		return nil, errors.New("apollo: Compose: no subgraphs")
	}
	names := make([]string, len(subgraphs))
	for i, s := range subgraphs {
		if s.Name == "" || s.SDL == "" {
			return nil, fmt.Errorf("apollo: Compose: subgraph %d (%q) needs a name and an SDL", i, s.Name)
		}
		names[i] = s.Name
	}
	env, err := devenv.Load(io.Discard)
	if err != nil {
		return nil, fmt.Errorf("apollo: finding the module root: %w", err)
	}
	dir := filepath.Join(env.Root, filepath.FromSlash(scriptDir))
	home, err := env.NodeModules(ctx, dir)
	if err != nil {
		return nil, fmt.Errorf("apollo: installing @apollo/composition: %w", err)
	}
	type sub struct {
		Name string `json:"name"`
		URL  string `json:"url"`
		SDL  string `json:"sdl"`
	}
	in := make([]sub, len(subgraphs))
	for i, s := range subgraphs {
		in[i] = sub(s)
	}
	body, err := json.Marshal(in)
	if err != nil {
		return nil, err
	}
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, "node", filepath.Join(dir, "compose.mjs"))
	cmd.Dir = home
	cmd.Stdin, cmd.Stdout, cmd.Stderr = bytes.NewReader(body), &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("apollo: running compose.mjs on %s: %w: %s", strings.Join(names, ", "), err, strings.TrimSpace(stderr.String()))
	}
	var out struct {
		SupergraphSDL string `json:"supergraphSdl"`
		Errors        []struct{ Message, Code string }
		Hints         []struct{ Message, Code string }
	}
	if err := json.Unmarshal(stdout.Bytes(), &out); err != nil {
		return nil, fmt.Errorf("apollo: compose.mjs output on %s: %w", strings.Join(names, ", "), err)
	}
	if len(out.Errors) > 0 {
		ce := &CompositionError{Subgraphs: names}
		for _, e := range out.Errors {
			ce.Errors = append(ce.Errors, Hint{Code: e.Code, Message: e.Message})
		}
		return nil, ce
	}
	c := &Composition{Supergraph: out.SupergraphSDL}
	for _, h := range out.Hints {
		c.Hints = append(c.Hints, Hint{Code: h.Code, Message: h.Message})
	}
	return c, nil
}
