package product

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/cassandraorm/cassandraorm-go/examples/ecommerce/internal/jsonhttp"
	"github.com/cassandraorm/cassandraorm-go/orm"
	"github.com/cassandraorm/cassandraorm-go/recommend"
)

// maxBody bounds a request body.
const maxBody = 64 << 10

// Handler serves the catalogue API for the tenant of each request's context
// (mount it behind tenanthttp.Middleware):
//
//	PUT    /products/{id}          {"name","description","category","brand","price_cents","stock",
//	                                "auto_reorder","reorder_threshold","reorder_quantity"} → 200 product
//	GET    /products/{id}                                   → 200 product, 404
//	DELETE /products/{id}                                   → 204
//	GET    /products/{id}/similar?limit=&same_category=true → 200 {"hits":[...]}, 404, 409 not embedded yet
//	GET    /search?q=&mode=hybrid|keyword|semantic&category=&min_price_cents=&max_price_cents=&limit=
//	                                                        → 200 {"hits":[{"product","score","keyword_rank","semantic_rank"}]}
//	POST   /users/{id}/interactions {"product_id","kind":"view|cart|purchase"} → 204
//	GET    /users/{id}/recommendations?limit=               → 200 {"hits":[...]}
//
// Errors are {"error": message}: 400 for an invalid request (naming the field),
// 404, 409, 503 (with Retry-After) when the database did not answer, 500 for
// anything else, without details.
func (s *Service) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("PUT /products/{id}", func(w http.ResponseWriter, r *http.Request) {
		var p Product
		if bad := jsonhttp.Decode(w, r, maxBody, &p); bad != nil {
			jsonhttp.Write(w, http.StatusBadRequest, map[string]any{"error": "invalid product", "fields": bad})
			return
		}
		if p.ID != "" && p.ID != r.PathValue("id") {
			jsonhttp.Error(w, http.StatusBadRequest, "id in the body differs from the path's")
			return
		}
		p.ID = r.PathValue("id")
		if err := s.Put(r.Context(), p); err != nil {
			fail(w, err)
			return
		}
		// From Cassandra, not the cache: the answer to a write shows the write,
		// which the cache has not heard of yet.
		got, err := s.get(r.Context(), p.ID, false)
		if err != nil {
			fail(w, err)
			return
		}
		jsonhttp.Write(w, http.StatusOK, got)
	})
	mux.HandleFunc("GET /products/{id}", func(w http.ResponseWriter, r *http.Request) {
		p, err := s.Get(r.Context(), r.PathValue("id"))
		if err != nil {
			fail(w, err)
			return
		}
		jsonhttp.Write(w, http.StatusOK, p)
	})
	mux.HandleFunc("DELETE /products/{id}", func(w http.ResponseWriter, r *http.Request) {
		if err := s.Delete(r.Context(), r.PathValue("id")); err != nil {
			fail(w, err)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("GET /products/{id}/similar", func(w http.ResponseWriter, r *http.Request) {
		limit, err := intParam(r, "limit", 10)
		if err != nil {
			fail(w, err)
			return
		}
		hits, err := s.Similar(r.Context(), r.PathValue("id"), int(limit), r.URL.Query().Get("same_category") == "true")
		if err != nil {
			fail(w, err)
			return
		}
		jsonhttp.Write(w, http.StatusOK, map[string]any{"hits": hits})
	})
	mux.HandleFunc("GET /search", func(w http.ResponseWriter, r *http.Request) {
		v := r.URL.Query()
		q := Query{Text: v.Get("q"), Mode: Mode(v.Get("mode")), Category: v.Get("category")}
		var err error
		var limit int64
		if q.MinPriceCents, err = intParam(r, "min_price_cents", 0); err == nil {
			if q.MaxPriceCents, err = intParam(r, "max_price_cents", 0); err == nil {
				limit, err = intParam(r, "limit", 10)
				q.Limit = int(limit)
			}
		}
		if err != nil {
			fail(w, err)
			return
		}
		hits, err := s.Search(r.Context(), q)
		if err != nil {
			fail(w, err)
			return
		}
		jsonhttp.Write(w, http.StatusOK, map[string]any{"hits": hits})
	})
	mux.HandleFunc("POST /users/{id}/interactions", func(w http.ResponseWriter, r *http.Request) {
		var body struct {
			ProductID string         `json:"product_id"`
			Kind      recommend.Kind `json:"kind"`
		}
		if bad := jsonhttp.Decode(w, r, maxBody, &body); bad != nil {
			jsonhttp.Write(w, http.StatusBadRequest, map[string]any{"error": "invalid interaction", "fields": bad})
			return
		}
		in := recommend.Interaction{UserID: r.PathValue("id"), ItemID: body.ProductID, Kind: body.Kind, At: time.Now()}
		if err := s.Record(r.Context(), in); err != nil {
			fail(w, err)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("GET /users/{id}/recommendations", func(w http.ResponseWriter, r *http.Request) {
		limit, err := intParam(r, "limit", 10)
		if err != nil {
			fail(w, err)
			return
		}
		hits, err := s.Recommend(r.Context(), r.PathValue("id"), int(limit))
		if err != nil {
			fail(w, err)
			return
		}
		jsonhttp.Write(w, http.StatusOK, map[string]any{"hits": hits})
	})
	return mux
}

// intParam reads a whole-number query parameter, def when absent.
func intParam(r *http.Request, name string, def int64) (int64, error) {
	v := r.URL.Query().Get(name)
	if v == "" {
		return def, nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("%w: %s %q: not a whole number", ErrInvalid, name, v)
	}
	return n, nil
}

// fail answers err.
func fail(w http.ResponseWriter, err error) {
	if status, msg, ok := jsonhttp.Status(err); ok {
		jsonhttp.Error(w, status, msg)
		return
	}
	switch {
	case errors.Is(err, ErrInvalid), errors.Is(err, orm.ErrInvalidValue):
		jsonhttp.Error(w, http.StatusBadRequest, err.Error())
	case errors.Is(err, ErrNotFound):
		jsonhttp.Error(w, http.StatusNotFound, err.Error())
	case errors.Is(err, ErrNotEmbedded):
		jsonhttp.Error(w, http.StatusConflict, err.Error())
	default:
		jsonhttp.Error(w, http.StatusInternalServerError, "internal error")
	}
}
