package sessiond

import (
	"context"
	"encoding/json"

	"sessiond.dev/client/go/sessiondv1"
)

// The typed getters return key's value, pending changes included, and true; or the zero value and
// false when the key is absent, holds another type (no conversions: GetDouble of an int64 is
// false), or the session cannot be loaded (Load tells why). They load the session first.

// GetString returns key's string value.
func (s *Session) GetString(ctx context.Context, key string) (string, bool) {
	return get(s, ctx, key, func(k *sessiondv1.Value_StringValue) string { return k.StringValue })
}

// GetBytes returns key's bytes value.
func (s *Session) GetBytes(ctx context.Context, key string) ([]byte, bool) {
	return get(s, ctx, key, func(k *sessiondv1.Value_BytesValue) []byte { return append([]byte{}, k.BytesValue...) })
}

// GetInt returns key's int64 value.
func (s *Session) GetInt(ctx context.Context, key string) (int64, bool) {
	return get(s, ctx, key, func(k *sessiondv1.Value_Int64Value) int64 { return k.Int64Value })
}

// GetDouble returns key's double value.
func (s *Session) GetDouble(ctx context.Context, key string) (float64, bool) {
	return get(s, ctx, key, func(k *sessiondv1.Value_DoubleValue) float64 { return k.DoubleValue })
}

// GetBool returns key's bool value.
func (s *Session) GetBool(ctx context.Context, key string) (bool, bool) {
	return get(s, ctx, key, func(k *sessiondv1.Value_BoolValue) bool { return k.BoolValue })
}

// GetJSON returns key's JSON document as its text (unmarshal it with encoding/json).
func (s *Session) GetJSON(ctx context.Context, key string) (json.RawMessage, bool) {
	return get(s, ctx, key, func(k *sessiondv1.Value_JsonValue) json.RawMessage { return json.RawMessage(k.JsonValue) })
}

// get returns unwrap of key's value if its kind is K.
func get[K any, T any](s *Session, ctx context.Context, key string, unwrap func(K) T) (T, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var zero T
	value := s.find(ctx, key)
	if value == nil {
		return zero, false
	}
	k, ok := value.GetKind().(K)
	if !ok {
		return zero, false
	}
	return unwrap(k), true
}

// The setters record, without an rpc, that key is to hold value (of any previous type). The
// server checks keys and sizes at Commit.

// SetString records a string value.
func (s *Session) SetString(key, value string) {
	s.record(key, &sessiondv1.Value{Kind: &sessiondv1.Value_StringValue{StringValue: value}})
}

// SetBytes records a bytes value (copied).
func (s *Session) SetBytes(key string, value []byte) {
	s.record(key, &sessiondv1.Value{Kind: &sessiondv1.Value_BytesValue{BytesValue: append([]byte{}, value...)}})
}

// SetInt records an int64 value.
func (s *Session) SetInt(key string, value int64) {
	s.record(key, &sessiondv1.Value{Kind: &sessiondv1.Value_Int64Value{Int64Value: value}})
}

// SetDouble records a double value.
func (s *Session) SetDouble(key string, value float64) {
	s.record(key, &sessiondv1.Value{Kind: &sessiondv1.Value_DoubleValue{DoubleValue: value}})
}

// SetBool records a bool value.
func (s *Session) SetBool(key string, value bool) {
	s.record(key, &sessiondv1.Value{Kind: &sessiondv1.Value_BoolValue{BoolValue: value}})
}

// SetJSON records value as a JSON document (json.Marshal of value; a json.RawMessage is stored
// as it is, compacted). It fails only if value cannot be marshaled.
func (s *Session) SetJSON(key string, value any) error {
	text, err := json.Marshal(value)
	if err != nil {
		return err
	}
	s.record(key, &sessiondv1.Value{Kind: &sessiondv1.Value_JsonValue{JsonValue: string(text)}})
	return nil
}

// Remove records that key is to be removed; absent keys are ignored.
func (s *Session) Remove(key string) { s.record(key, nil) }

// Clear records that every entry is to be removed.
func (s *Session) Clear() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.cleared, s.changes, s.requestID = true, map[string]*sessiondv1.Value{}, ""
}
