package kubeletplugin

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestHealthAnswersWhatTheCheckSays(t *testing.T) {
	var failure error
	srv := httptest.NewServer(Health{Check: func(context.Context) error { return failure }}.Handler())
	defer srv.Close()
	get := func() (int, string) {
		resp, err := http.Get(srv.URL + "/healthz")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, body := get(); code != http.StatusOK || body != "ok" {
		t.Fatalf("healthy: %d %q", code, body)
	}
	failure = errors.New("volume group vg0 not found")
	if code, body := get(); code != http.StatusServiceUnavailable || !strings.Contains(body, "vg0 not found") {
		t.Fatalf("unhealthy: %d %q", code, body)
	}
	resp, err := http.Get(srv.URL + "/other")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Fatalf("/other = %d", resp.StatusCode)
	}
}

func TestHealthServeStopsWithItsContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- Health{Address: "127.0.0.1:0", Check: func(context.Context) error { return nil }}.Serve(ctx)
	}()
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}
