package statusapi

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"
)

// Serve listens on cfg.Status.Listen (with TLS when a certificate is
// configured) until ctx ends.
func (s *Server) Serve(ctx context.Context) error {
	ln, err := net.Listen("tcp", s.cfg.Status.Listen)
	if err != nil {
		return fmt.Errorf("status endpoint: %w", err)
	}
	srv := &http.Server{Handler: s.Handler(), ReadHeaderTimeout: 5 * time.Second}
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
	}()
	cert, key := s.cfg.Resolve(s.cfg.Status.TLSCert), s.cfg.Resolve(s.cfg.Status.TLSKey)
	scheme, serve := "http", func() error { return srv.Serve(ln) }
	if cert != "" && key != "" {
		srv.TLSConfig = &tls.Config{MinVersion: tls.VersionTLS12}
		scheme, serve = "https", func() error { return srv.ServeTLS(ln, cert, key) }
	}
	s.log.Info().Str("url", scheme+"://"+ln.Addr().String()+"/").Msg("status endpoint listening")
	if err := serve(); !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("status endpoint: %w", err)
	}
	return nil
}
