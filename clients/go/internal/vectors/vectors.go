// Package vectors reads the typed test vectors of clients/testdata (see its README for the
// encoding), sets them on a Session with the typed setters and checks that they read back exactly.
package vectors

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"reflect"
	"strconv"

	sessiond "sessiond.dev/client/go"
)

// Vector is one typed value: Key holds Want, a string, int64, float64, bool, []byte or (for
// "json") a json.RawMessage.
type Vector struct {
	Key  string
	Type string
	Want any
}

type encoded struct {
	Key    string          `json:"key"`
	Type   string          `json:"type"`
	Value  json.RawMessage `json:"value"`
	Bits   string          `json:"bits"`
	Base64 string          `json:"base64"`
}

// Load reads the vectors file at path.
func Load(path string) ([]Vector, error) {
	text, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var file struct{ Vectors []encoded }
	if err := json.Unmarshal(text, &file); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	vectors := make([]Vector, 0, len(file.Vectors))
	for _, e := range file.Vectors {
		want, err := decode(e)
		if err != nil {
			return nil, fmt.Errorf("%s: %q: %w", path, e.Key, err)
		}
		vectors = append(vectors, Vector{Key: e.Key, Type: e.Type, Want: want})
	}
	return vectors, nil
}

func decode(e encoded) (any, error) {
	switch e.Type {
	case "string", "bool":
		var v any
		err := json.Unmarshal(e.Value, &v)
		return v, err
	case "int64":
		var text string
		if err := json.Unmarshal(e.Value, &text); err != nil {
			return nil, err
		}
		return strconv.ParseInt(text, 10, 64)
	case "double":
		bits, err := strconv.ParseUint(e.Bits, 16, 64)
		return math.Float64frombits(bits), err
	case "bytes":
		return base64.StdEncoding.DecodeString(e.Base64)
	case "json":
		return e.Value, nil
	}
	return nil, fmt.Errorf("unknown type %q", e.Type)
}

// Set records v on s with the setter of its type.
func (v Vector) Set(s *sessiond.Session) error {
	switch want := v.Want.(type) {
	case string:
		s.SetString(v.Key, want)
	case int64:
		s.SetInt(v.Key, want)
	case float64:
		s.SetDouble(v.Key, want)
	case bool:
		s.SetBool(v.Key, want)
	case []byte:
		s.SetBytes(v.Key, want)
	case json.RawMessage:
		return s.SetJSON(v.Key, want)
	}
	return nil
}

// Matches reports whether v's key reads back from s, through the getter of v's type, as exactly
// v's value (doubles bit for bit, any NaN equal to any NaN; JSON as parsed documents).
func (v Vector) Matches(ctx context.Context, s *sessiond.Session) bool {
	switch want := v.Want.(type) {
	case string:
		got, ok := s.GetString(ctx, v.Key)
		return ok && got == want
	case int64:
		got, ok := s.GetInt(ctx, v.Key)
		return ok && got == want
	case float64:
		got, ok := s.GetDouble(ctx, v.Key)
		return ok && (math.Float64bits(got) == math.Float64bits(want) || math.IsNaN(got) && math.IsNaN(want))
	case bool:
		got, ok := s.GetBool(ctx, v.Key)
		return ok && got == want
	case []byte:
		got, ok := s.GetBytes(ctx, v.Key)
		return ok && bytes.Equal(got, want)
	case json.RawMessage:
		got, ok := s.GetJSON(ctx, v.Key)
		return ok && sameDocument(got, want)
	}
	return false
}

func sameDocument(a, b []byte) bool {
	var x, y any
	return json.Unmarshal(a, &x) == nil && json.Unmarshal(b, &y) == nil && reflect.DeepEqual(x, y)
}

// Expected describes v's value for a mismatch message.
func (v Vector) Expected() string { return describe(v.Want) }

// Describe returns what key holds in s, typed ("string \"a\"", "int64 5", ...), or "nothing".
func Describe(ctx context.Context, s *sessiond.Session, key string) string {
	if v, ok := s.GetString(ctx, key); ok {
		return describe(v)
	}
	if v, ok := s.GetInt(ctx, key); ok {
		return describe(v)
	}
	if v, ok := s.GetDouble(ctx, key); ok {
		return describe(v)
	}
	if v, ok := s.GetBool(ctx, key); ok {
		return describe(v)
	}
	if v, ok := s.GetBytes(ctx, key); ok {
		return describe(v)
	}
	if v, ok := s.GetJSON(ctx, key); ok {
		return describe(v)
	}
	return "nothing"
}

func describe(value any) string {
	switch v := value.(type) {
	case string:
		return "string " + strconv.Quote(v)
	case int64:
		return fmt.Sprintf("int64 %d", v)
	case float64:
		return fmt.Sprintf("double %g (bits %016x)", v, math.Float64bits(v))
	case bool:
		return fmt.Sprintf("bool %t", v)
	case []byte:
		return "bytes " + base64.StdEncoding.EncodeToString(v)
	case json.RawMessage:
		return "json " + string(v)
	}
	return fmt.Sprint(value)
}

// Mismatches returns one line per difference between s and vectors ("key: expected ..., got
// ..."): keys s holds that no vector has, and vectors that do not read back exactly.
func Mismatches(ctx context.Context, s *sessiond.Session, vectors []Vector) ([]string, error) {
	keys, err := s.Keys(ctx)
	if err != nil {
		return nil, err
	}
	expected := map[string]bool{}
	for _, v := range vectors {
		expected[v.Key] = true
	}
	var lines []string
	for _, key := range keys {
		if !expected[key] {
			lines = append(lines, fmt.Sprintf("%q: expected no such key, got %s", key, Describe(ctx, s, key)))
		}
	}
	for _, v := range vectors {
		if !v.Matches(ctx, s) {
			lines = append(lines, fmt.Sprintf("%q: expected %s, got %s", v.Key, v.Expected(), Describe(ctx, s, v.Key)))
		}
	}
	return lines, nil
}
