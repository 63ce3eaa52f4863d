package scsstore_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/alexedwards/scs/v2"

	sessiond "sessiond.dev/client/go"
	"sessiond.dev/client/go/internal/testserver"
	"sessiond.dev/client/go/scsstore"
)

var _ scs.CtxStore = (*scsstore.Store)(nil)

// scsApp is an scs app whose only change is the one line that sets its Store.
func scsApp(t *testing.T, client *sessiond.Client, lifetime time.Duration) (*scs.SessionManager, *httptest.Server) {
	manager := scs.New()
	manager.Store = scsstore.New(client, scsstore.Options{})
	manager.Lifetime = lifetime
	mux := http.NewServeMux()
	mux.HandleFunc("/put", func(w http.ResponseWriter, r *http.Request) {
		manager.Put(r.Context(), "user", r.FormValue("user"))
	})
	mux.HandleFunc("/get", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, manager.GetString(r.Context(), "user"))
	})
	mux.HandleFunc("/login", func(w http.ResponseWriter, r *http.Request) {
		if err := manager.RenewToken(r.Context()); err != nil {
			http.Error(w, err.Error(), 500)
		}
	})
	mux.HandleFunc("/logout", func(w http.ResponseWriter, r *http.Request) {
		if err := manager.Destroy(r.Context()); err != nil {
			http.Error(w, err.Error(), 500)
		}
	})
	server := httptest.NewServer(manager.LoadAndSave(mux))
	t.Cleanup(server.Close)
	return manager, server
}

// get requests path with token as scs's cookie; returns the body and the token a response sets.
func get(t *testing.T, server *httptest.Server, path, token string) (body, newToken string) {
	t.Helper()
	req, _ := http.NewRequest("GET", server.URL+path, nil)
	if token != "" {
		req.AddCookie(&http.Cookie{Name: "session", Value: token})
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	text, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("%s: %d %s", path, resp.StatusCode, text)
	}
	for _, cookie := range resp.Cookies() {
		if cookie.Name == "session" {
			newToken = cookie.Value
		}
	}
	return string(text), newToken
}

func TestScsAppKeepsSessionsInSessiond(t *testing.T) {
	client := testserver.Start(t).Client(t, sessiond.Options{})
	_, server := scsApp(t, client, time.Hour)
	_, token := get(t, server, "/put?user=ann", "")
	if token == "" {
		t.Fatal("no session cookie after Put")
	}
	if err := client.Open(scsstore.SessionID(token)).Load(context.Background()); err != nil {
		t.Fatalf("the sessiond session behind the token: %v", err)
	}
	if body, _ := get(t, server, "/get", token); body != "ann" {
		t.Errorf("user %q, want ann", body)
	}

	_, renewed := get(t, server, "/login", token)
	if renewed == "" || renewed == token {
		t.Fatalf("RenewToken gave %q", renewed)
	}
	if body, _ := get(t, server, "/get", token); body != "" {
		t.Errorf("the old token still reads %q", body)
	}
	if body, _ := get(t, server, "/get", renewed); body != "ann" {
		t.Errorf("the renewed token reads %q", body)
	}

	get(t, server, "/logout", renewed)
	err := client.Open(scsstore.SessionID(renewed)).Load(context.Background())
	if !errors.Is(err, sessiond.ErrNotFound) {
		t.Errorf("after Destroy: %v, want ErrNotFound", err)
	}
}

func TestScsExpiryApplies(t *testing.T) {
	client := testserver.Start(t).Client(t, sessiond.Options{})
	_, server := scsApp(t, client, 300*time.Millisecond)
	_, token := get(t, server, "/put?user=ann", "")
	time.Sleep(400 * time.Millisecond)
	if body, _ := get(t, server, "/get", token); body != "" {
		t.Errorf("an expired scs session reads %q", body)
	}
}

func TestStoreErrorsAreSystemErrorsOnly(t *testing.T) {
	ctx := context.Background()
	server := testserver.Start(t)
	client := server.Client(t, sessiond.Options{CommitAttempts: 1})
	store := scsstore.New(client, scsstore.Options{})
	if _, found, err := store.FindCtx(ctx, "unknown-token"); found || err != nil {
		t.Errorf("Find of an unknown token = %v, %v; want not found, no error", found, err)
	}
	server.Stop()
	server.Wait()
	if _, _, err := store.FindCtx(ctx, "any-token"); !errors.Is(err, sessiond.ErrUnavailable) {
		t.Errorf("Find with sessiond down = %v, want ErrUnavailable", err)
	}
}
