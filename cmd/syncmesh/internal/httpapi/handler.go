package httpapi

import (
	"crypto/subtle"
	"log/slog"
	"net/http"
	"strconv"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Handler serves the API. It is an http.Handler, safe for concurrent use.
type Handler struct {
	cfg      Config
	mux      *http.ServeMux
	requests *prometheus.CounterVec
	log      *slog.Logger
}

var _ http.Handler = (*Handler)(nil)

// New validates cfg and returns a Handler.
func New(cfg Config) (*Handler, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.MaxBodyBytes == 0 {
		cfg.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if cfg.MaxConflictPaths == 0 {
		cfg.MaxConflictPaths = 10_000
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	h := &Handler{cfg: cfg, mux: http.NewServeMux(), log: cfg.Logger}
	h.requests = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "syncmesh", Subsystem: "http", Name: "requests_total",
		Help: "HTTP API requests by route pattern and status code.",
	}, []string{"route", "code"})
	reg := cfg.Registerer
	if reg == nil && cfg.Gatherer == nil {
		r := prometheus.NewRegistry()
		reg, h.cfg.Gatherer = r, r
	}
	if reg != nil {
		if err := reg.Register(h.requests); err != nil {
			return nil, err
		}
	}
	h.routes()
	return h, nil
}

func (h *Handler) routes() {
	h.handle("GET /v1/state", h.getState)
	h.handle("GET /v1/state/{pointer...}", h.getState)
	h.handle("PATCH /v1/state", h.auth(h.patchState))
	h.handle("GET /v1/conflicts", h.getConflicts)
	h.handle("GET /v1/watch", h.watch)
	h.handle("GET /v1/members", h.getMembers)
	h.handle("GET /v1/status", h.getStatus)
	h.handle("GET /healthz", h.healthz)
	h.mux.Handle("GET /metrics", h.count("GET /metrics",
		promhttp.HandlerFor(h.cfg.Gatherer, promhttp.HandlerOpts{})))
	dash := dashboard()
	h.mux.Handle("GET /{file...}", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// Unknown API paths get a problem, not the dashboard's 404 page.
		if strings.HasPrefix(r.URL.Path, "/v1/") {
			writeProblem(w, r, http.StatusNotFound, ProblemNotFound, "no endpoint GET "+r.URL.Path)
			return
		}
		dash.ServeHTTP(w, r)
	}))
}

func (h *Handler) handle(pattern string, f http.HandlerFunc) {
	h.mux.Handle(pattern, h.count(pattern, f))
}

// ServeHTTP implements http.Handler.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h.mux.ServeHTTP(w, r)
}

// statusRecorder remembers the status code for the request counter. It
// passes Flush through (via Unwrap and http.ResponseController) for SSE.
type statusRecorder struct {
	http.ResponseWriter
	code int
}

func (s *statusRecorder) WriteHeader(code int) {
	if s.code == 0 {
		s.code = code
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusRecorder) Write(b []byte) (int, error) {
	if s.code == 0 {
		s.code = http.StatusOK
	}
	return s.ResponseWriter.Write(b)
}

func (s *statusRecorder) Unwrap() http.ResponseWriter { return s.ResponseWriter }

func (h *Handler) count(route string, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := &statusRecorder{ResponseWriter: w}
		next.ServeHTTP(rec, r)
		if rec.code == 0 {
			rec.code = http.StatusOK
		}
		h.requests.WithLabelValues(route, strconv.Itoa(rec.code)).Inc()
	})
}

// auth requires the bearer token on write endpoints when one is set.
func (h *Handler) auth(next http.HandlerFunc) http.HandlerFunc {
	if h.cfg.Token == "" {
		return next
	}
	want := []byte(h.cfg.Token)
	return func(w http.ResponseWriter, r *http.Request) {
		got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if !ok || subtle.ConstantTimeCompare([]byte(strings.TrimSpace(got)), want) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="syncmesh"`)
			detail := "this endpoint needs the header Authorization: Bearer <token>"
			if ok {
				detail = "the bearer token is wrong"
			}
			writeProblem(w, r, http.StatusUnauthorized, ProblemUnauthorized, detail)
			return
		}
		next(w, r)
	}
}
