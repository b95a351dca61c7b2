package soak

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"sort"
	"strings"
	"time"
)

// explanation is one reason the bench expects the controller to log errors:
// an injected fault, during the time it lasted (plus the retries already
// under way), whose errors say what the fault is.
type explanation struct {
	class    string
	from, to time.Time
	// mentions: the error's text contains one of these (case-insensitive).
	mentions []string
}

// logErrors is the controller's error lines, by class.
type logErrors struct {
	total       int
	byClass     map[string]int
	unexplained []string // the first few, as logged (they carry no secret value)
	lines       int
}

// unexplainedClass is the class of an error no injected fault explains.
const unexplainedClass = "unexplained"

// classifyLog reads a controller log (zap JSON, one object a line) and puts
// each error (a line at error level or above, or at any level with an error
// attached) in the class of the first explanation that covers it.
// Anything that is not a JSON line (a panic, a Go runtime message) is an
// error no fault explains.
func classifyLog(r io.Reader, why []explanation) (logErrors, error) {
	out := logErrors{byClass: map[string]int{}}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 1<<20), 16<<20)
	for sc.Scan() {
		line := sc.Text()
		if strings.TrimSpace(line) == "" {
			continue
		}
		out.lines++
		var entry map[string]any
		if err := json.Unmarshal([]byte(line), &entry); err != nil {
			out.add(unexplainedClass, "not a log entry: "+line)
			continue
		}
		level, _ := entry["level"].(string)
		errText, _ := entry["error"].(string)
		// The controller reports some failures it retries by itself at info
		// level with an error attached ("rotation check failed"): they are
		// errors all the same.
		if errText == "" && (level == "info" || strings.HasPrefix(level, "debug")) {
			continue
		}
		at, err := entryTime(entry["ts"])
		if err != nil {
			out.add(unexplainedClass, fmt.Sprintf("%v: %s", err, line))
			continue
		}
		msg, _ := entry["msg"].(string)
		text := strings.ToLower(msg + " " + errText)
		class := unexplainedClass
		for _, e := range why {
			if at.Before(e.from) || at.After(e.to) {
				continue
			}
			if mentionsAny(text, e.mentions) {
				class = e.class
				break
			}
		}
		out.add(class, fmt.Sprintf("%s %s %s: %s", at.UTC().Format("15:04:05.000"), level, msg, errText))
	}
	return out, sc.Err()
}

func (l *logErrors) add(class, line string) {
	l.total++
	l.byClass[class]++
	if class == unexplainedClass && len(l.unexplained) < 10 {
		l.unexplained = append(l.unexplained, line)
	}
}

// classes are the classes seen, the most frequent first.
func (l *logErrors) classes() []string {
	var out []string
	for c := range l.byClass {
		out = append(out, c)
	}
	sort.Slice(out, func(i, j int) bool {
		if l.byClass[out[i]] != l.byClass[out[j]] {
			return l.byClass[out[i]] > l.byClass[out[j]]
		}
		return out[i] < out[j]
	})
	return out
}

func mentionsAny(text string, words []string) bool {
	for _, w := range words {
		if strings.Contains(text, strings.ToLower(w)) {
			return true
		}
	}
	return false
}

// entryTime reads zap's "ts": seconds since the epoch (the production
// encoder) or an RFC 3339 string (ISO8601/RFC3339 encoders).
func entryTime(ts any) (time.Time, error) {
	switch v := ts.(type) {
	case float64:
		sec, frac := math.Modf(v)
		return time.Unix(int64(sec), int64(frac*1e9)), nil
	case string:
		for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.000Z0700"} {
			if t, err := time.Parse(layout, v); err == nil {
				return t, nil
			}
		}
		return time.Time{}, fmt.Errorf("log entry time %q is not RFC 3339", v)
	default:
		return time.Time{}, fmt.Errorf("log entry without a time (ts %v)", ts)
	}
}
