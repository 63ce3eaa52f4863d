// Command sharedlogin is the Go half of examples/shared-login: a web tier that shares one browser
// login with the Express and Flask apps through the signed cookie "sessiond" (docs/COOKIES.md).
//
//	GET  /go/        the user (string entry "user") or "anonymous", and the cart (json entry
//	                 "cart", a list of strings)
//	POST /go/login   field user: rotates the session id and sets "user"; 303 to /go/
//	POST /go/cart    field item: appends it to "cart"; 303 to /go/
//	POST /go/logout  deletes the session and clears the cookie; 303 to /go/
//
// Environment: SESSIOND_ADDR (host:port), PORT, SESSION_SECRET, COOKIE_SECURE (0: plain http).
package main

import (
	"encoding/json"
	"html/template"
	"log"
	"net/http"
	"os"

	sessiond "sessiond.dev/client/go"
	"sessiond.dev/client/go/sessionhttp"
)

var page = template.Must(template.New("page").Parse(`<!doctype html>
<html><head><meta charset="utf-8"><title>Go</title></head>
<body>
<p id="user">{{.User}}</p>
<ul id="cart">{{range .Cart}}<li>{{.}}</li>{{end}}</ul>
<form method="post" action="/go/cart">
  <input name="item" id="item"><button type="submit" id="add">Add</button>
</form>
<form method="post" action="/go/logout"><button type="submit" id="logout">Log out</button></form>
</body></html>
`))

// cart returns the cart entry if it is a list of strings; an empty list otherwise.
func cart(r *http.Request) []string {
	var items []string
	if text, ok := sessionhttp.FromContext(r.Context()).GetJSON(r.Context(), "cart"); ok {
		if json.Unmarshal(text, &items) != nil {
			return nil
		}
	}
	return items
}

// routes returns the app's handler, sessions kept by middleware.
func routes(middleware *sessionhttp.Middleware) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /go/{$}", func(w http.ResponseWriter, r *http.Request) {
		user, ok := sessionhttp.FromContext(r.Context()).GetString(r.Context(), "user")
		if !ok {
			user = "anonymous"
		}
		if err := page.Execute(w, struct {
			User string
			Cart []string
		}{user, cart(r)}); err != nil {
			log.Print(err)
		}
	})
	mux.HandleFunc("POST /go/login", func(w http.ResponseWriter, r *http.Request) {
		s := sessionhttp.FromContext(r.Context())
		if err := s.RotateID(r.Context()); err != nil {
			http.Error(w, err.Error(), http.StatusServiceUnavailable)
			return
		}
		s.SetString("user", r.FormValue("user"))
		http.Redirect(w, r, "/go/", http.StatusSeeOther)
	})
	mux.HandleFunc("POST /go/cart", func(w http.ResponseWriter, r *http.Request) {
		if err := sessionhttp.FromContext(r.Context()).SetJSON("cart", append(cart(r), r.FormValue("item"))); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		http.Redirect(w, r, "/go/", http.StatusSeeOther)
	})
	mux.HandleFunc("POST /go/logout", func(w http.ResponseWriter, r *http.Request) {
		if err := sessionhttp.FromContext(r.Context()).Delete(r.Context()); err != nil {
			http.Error(w, err.Error(), http.StatusServiceUnavailable)
			return
		}
		http.Redirect(w, r, "/go/", http.StatusSeeOther)
	})
	return middleware.Handler(mux)
}

func main() {
	client, err := sessiond.Dial(os.Getenv("SESSIOND_ADDR"), sessiond.Options{})
	if err != nil {
		log.Fatal(err)
	}
	middleware, err := sessionhttp.New(client, sessionhttp.Options{
		Secrets:        []string{os.Getenv("SESSION_SECRET")},
		InsecureCookie: os.Getenv("COOKIE_SECURE") == "0",
	})
	if err != nil {
		log.Fatal(err)
	}
	log.Fatal(http.ListenAndServe("127.0.0.1:"+os.Getenv("PORT"), routes(middleware)))
}
