package main

import "math"

// withArgs holds an op's named arguments.
type withArgs struct {
	r    *runner
	what string
	m    map[string]interface{}
}

func (w *withArgs) has(k string) bool {
	v, ok := w.m[k]
	return ok && v != nil
}

func (w *withArgs) get(k string) interface{} {
	if !w.has(k) {
		badArgs("%s needs with.%s", w.what, k)
	}
	return w.r.resolve(w.m[k])
}

func (w *withArgs) str(k, def string) string {
	if !w.has(k) {
		return def
	}
	s, ok := w.get(k).(string)
	if !ok {
		badArgs("%s: with.%s must be a string", w.what, k)
	}
	return s
}

func (w *withArgs) needStr(k string) string {
	w.get(k)
	return w.str(k, "")
}

func (w *withArgs) int(k string, def int) int {
	if !w.has(k) {
		return def
	}
	n, ok := toInt64(w.get(k))
	if !ok || n < math.MinInt || n > math.MaxInt {
		badArgs("%s: with.%s must be an integer", w.what, k)
	}
	return int(n)
}

func (w *withArgs) float(k string, def float64) float64 {
	if !w.has(k) {
		return def
	}
	f, ok := toFloat64(w.get(k))
	if !ok {
		badArgs("%s: with.%s must be a number", w.what, k)
	}
	return f
}

func (w *withArgs) bool(k string, def bool) bool {
	if !w.has(k) {
		return def
	}
	b, ok := w.get(k).(bool)
	if !ok {
		badArgs("%s: with.%s must be a boolean", w.what, k)
	}
	return b
}

// strs reads a list of strings; absent means nil (ops treat it as "all").
func (w *withArgs) strs(k string) []string {
	if !w.has(k) {
		return nil
	}
	l, ok := w.get(k).([]interface{})
	if !ok {
		badArgs("%s: with.%s must be a list of strings", w.what, k)
	}
	out := make([]string, 0, len(l))
	for _, e := range l {
		s, ok := w.r.resolve(e).(string)
		if !ok {
			badArgs("%s: with.%s must be a list of strings", w.what, k)
		}
		out = append(out, s)
	}
	return out
}

// strMap reads an object of strings (an environment to add); absent means
// nil. Anything else is the case's mistake, reported as bad arguments
// rather than ignored.
func (w *withArgs) strMap(k string) map[string]string {
	if !w.has(k) {
		return nil
	}
	m, ok := w.get(k).(map[string]interface{})
	if !ok {
		badArgs("%s: with.%s must be an object of strings", w.what, k)
	}
	out := make(map[string]string, len(m))
	for name, v := range m {
		s, ok := w.r.resolve(v).(string)
		if !ok {
			badArgs("%s: with.%s.%s must be a string", w.what, k, name)
		}
		out[name] = s
	}
	return out
}
