package statusapi

import (
	"context"
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/dirbridge/dirbridge/outbox"
)

// metrics exposes the status as Prometheus metrics, read from the same
// snapshot as /api/v1/status at scrape time, so the two never disagree.
type metrics struct{ b Backend }

var (
	descRequests   = prometheus.NewDesc("dirbridge_requests", "Requests by app and state.", []string{"app", "state"}, nil)
	descDelivered  = prometheus.NewDesc("dirbridge_deliveries_total", "Requests the app carried out since start.", []string{"app"}, nil)
	descFailures   = prometheus.NewDesc("dirbridge_delivery_failures_total", "Failed delivery attempts since start.", []string{"app"}, nil)
	descPaused     = prometheus.NewDesc("dirbridge_app_paused", "1 while delivery to the app is paused (rate limit, quarantine).", []string{"app"}, nil)
	descCreatesOff = prometheus.NewDesc("dirbridge_app_creates_paused", "1 while Creates and Activates are paused for lack of licences.", []string{"app"}, nil)
	descFullRead   = prometheus.NewDesc("dirbridge_directory_last_full_read_timestamp_seconds", "When the last full read ended.", nil, nil)
	descPeople     = prometheus.NewDesc("dirbridge_directory_people", "People seen by the last full read.", nil, nil)
	descChanges    = prometheus.NewDesc("dirbridge_directory_changes_total", "Directory changes applied since start.", nil, nil)
	descHealthy    = prometheus.NewDesc("dirbridge_healthy", "1 when sync, full read and mapping report no error.", nil, nil)
)

func (m metrics) Describe(ch chan<- *prometheus.Desc) { prometheus.DescribeByCollect(m, ch) }

func (m metrics) Collect(ch chan<- prometheus.Metric) {
	s, err := m.b.Status(context.Background()) // Collect has no context
	if err != nil {
		ch <- prometheus.NewInvalidMetric(descHealthy, err)
		return
	}
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	for app, st := range s.Apps {
		for _, state := range outbox.States {
			gauge(descRequests, float64(st.Requests[state]), app, string(state))
		}
		ch <- prometheus.MustNewConstMetric(descDelivered, prometheus.CounterValue, float64(st.Delivered), app)
		ch <- prometheus.MustNewConstMetric(descFailures, prometheus.CounterValue, float64(st.Failures), app)
		gauge(descPaused, boolf(st.Paused), app)
		gauge(descCreatesOff, boolf(st.CreatesHeld), app)
	}
	if !s.Sync.FullReadEnded.IsZero() {
		gauge(descFullRead, float64(s.Sync.FullReadEnded.Unix()))
	}
	gauge(descPeople, float64(s.Sync.FullReadPeople))
	ch <- prometheus.MustNewConstMetric(descChanges, prometheus.CounterValue, float64(s.Sync.ChangesSeen))
	gauge(descHealthy, boolf(s.Healthy))
}

func boolf(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

func (s *Server) metricsHandler() http.Handler {
	reg := prometheus.NewRegistry()
	reg.MustRegister(metrics{s.b}, prometheus.NewGoCollector(), prometheus.NewProcessCollector(prometheus.ProcessCollectorOpts{}))
	return promhttp.HandlerFor(reg, promhttp.HandlerOpts{})
}
