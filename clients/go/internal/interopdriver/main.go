// Command interopdriver is the Go driver of the cross-language matrix (tests/interop/README.md):
//
//	interopdriver write VECTORS
//	interopdriver read VECTORS ID
//	interopdriver commit-after-go ID KEY VALUE
//
// It talks to SESSIOND_ADDR through the public Session API only.
package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"strings"

	sessiond "sessiond.dev/client/go"
	"sessiond.dev/client/go/internal/vectors"
)

func main() {
	address := os.Getenv("SESSIOND_ADDR")
	args := os.Args[1:]
	if address == "" || len(args) == 0 {
		fail("usage: interopdriver write VECTORS | read VECTORS ID | commit-after-go ID KEY VALUE (SESSIOND_ADDR=host:port)")
	}
	client, err := sessiond.Dial(address, sessiond.Options{})
	if err != nil {
		fail(err.Error())
	}
	defer client.Close()
	ctx := context.Background()
	switch {
	case args[0] == "write" && len(args) == 2:
		err = write(ctx, client, args[1])
	case args[0] == "read" && len(args) == 3:
		err = read(ctx, client, args[1], args[2])
	case args[0] == "commit-after-go" && len(args) == 4:
		err = commitAfterGo(ctx, client, args[1], args[2], args[3])
	default:
		err = errors.New("usage: interopdriver write VECTORS | read VECTORS ID | commit-after-go ID KEY VALUE")
	}
	if err != nil {
		fail(err.Error())
	}
}

func fail(message string) {
	fmt.Fprintln(os.Stderr, message)
	os.Exit(1)
}

func write(ctx context.Context, client *sessiond.Client, path string) error {
	all, err := vectors.Load(path)
	if err != nil {
		return err
	}
	s, err := client.Create(ctx, sessiond.CreateOptions{})
	if err != nil {
		return err
	}
	for _, v := range all {
		if err := v.Set(s); err != nil {
			return err
		}
	}
	if err := s.Commit(ctx); err != nil {
		return err
	}
	fmt.Println(s.ID())
	return nil
}

func read(ctx context.Context, client *sessiond.Client, path, id string) error {
	all, err := vectors.Load(path)
	if err != nil {
		return err
	}
	lines, err := vectors.Mismatches(ctx, client.Open(id), all)
	if err != nil {
		return err
	}
	if len(lines) > 0 {
		return errors.New(strings.Join(lines, "\n"))
	}
	return nil
}

func commitAfterGo(ctx context.Context, client *sessiond.Client, id, key, value string) error {
	s := client.Open(id)
	if err := s.Load(ctx); err != nil {
		return err
	}
	fmt.Printf("loaded %d\n", s.Info().Version)
	for lines := bufio.NewScanner(os.Stdin); ; {
		if !lines.Scan() {
			return errors.New("stdin closed before a line 'go'")
		}
		if lines.Text() == "go" {
			break
		}
	}
	s.SetString(key, value)
	err := s.Commit(ctx)
	var conflict *sessiond.ConflictError
	switch {
	case err == nil:
		fmt.Printf("committed %d\n", s.Info().Version)
	case errors.As(err, &conflict):
		fmt.Printf("conflict %s\n", strings.Join(conflict.Keys, ","))
	default:
		return err
	}
	return nil
}
