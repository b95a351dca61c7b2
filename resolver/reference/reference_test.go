package reference

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want []Ref
	}{
		{"plain text has no references", "hello world <b>bold</b>", nil},
		{"inline path and key", "<path:secret/data/db#password>", []Ref{
			{Kind: AVPPath, Path: "secret/data/db", Key: "password", Start: 0, End: 30},
		}},
		{"inline with version", "x=<path:kv/app#token#3>", []Ref{
			{Kind: AVPPath, Path: "kv/app", Key: "token", Version: "3", Start: 2, End: 23},
		}},
		{"modifiers in order", "<path:secret/data/cfg#json | jsonPath {.a.b} | base64encode>", []Ref{
			{Kind: AVPPath, Path: "secret/data/cfg", Key: "json", Modifiers: []Modifier{
				{Name: "jsonPath", Args: []string{"{.a.b}"}}, {Name: "base64encode"},
			}, Start: 0, End: 60},
		}},
		{"indent takes a number", "<path:s/p#k | indent 4>", []Ref{
			{Kind: AVPPath, Path: "s/p", Key: "k", Modifiers: []Modifier{{Name: "indent", Args: []string{"4"}}}, Start: 0, End: 23},
		}},
		{"two references in a DSN", "postgres://<path:s/db#user>:<path:s/db#pass>@db:5432", []Ref{
			{Kind: AVPPath, Path: "s/db", Key: "user", Start: 11, End: 27},
			{Kind: AVPPath, Path: "s/db", Key: "pass", Start: 28, End: 44},
		}},
		{"vals reference", "ref+vault://secret/data/app#/api/key", []Ref{
			{Kind: Vals, Path: "secret/data/app", Key: "api/key", Start: 0, End: 36},
		}},
		{"vals with version and terminator", "a ref+vault://secret/app?version=2#/k+ b", []Ref{
			{Kind: Vals, Path: "secret/app", Key: "k", Version: "2", Start: 2, End: 38},
		}},
		{"vals without key names the whole secret", `"ref+vault://secret/app"`, []Ref{
			{Kind: Vals, Path: "secret/app", Start: 1, End: 23},
		}},
		{"generic placeholders are not references without the annotation", "<password>", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Parse(tt.in)
			if err != nil {
				t.Fatalf("Parse(%q) error: %v", tt.in, err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("Parse(%q)\n got %+v\nwant %+v", tt.in, got, tt.want)
			}
			for _, r := range got {
				if r.Start < 0 || r.End > len(tt.in) || r.Start >= r.End {
					t.Fatalf("bad span %d..%d", r.Start, r.End)
				}
			}
			if Contains(tt.in) != (len(tt.want) > 0) {
				t.Fatalf("Contains(%q) = %v", tt.in, !(len(tt.want) > 0))
			}
		})
	}
}

func TestParseRejectsMalformed(t *testing.T) {
	tests := []struct {
		name, in, reason string
	}{
		{"no key", "<path:secret/data/db>", "want <path:PATH#KEY>"},
		{"empty key", "<path:secret/data/db#>", "empty key"},
		{"empty path", "<path:#key>", "empty path"},
		{"too many parts", "<path:a#b#1#2>", "want <path:PATH#KEY>"},
		{"bad version", "<path:a#b#latest>", "not a non-negative integer"},
		{"unterminated", "<path:a#b\n>", "no closing '>'"},
		{"unknown modifier", "<path:a#b | rot13>", "unknown modifier"},
		{"indent without number", "<path:a#b | indent>", "takes 1 argument"},
		{"indent over its maximum", "<path:a#b | indent 65>", "takes at most 64 spaces"},
		{"indent that overflows an int", "<path:a#b | indent 9223372036854775808>", "takes at most 64 spaces"},
		{"negative indent", "<path:a#b | indent -3>", "from 0 to 64"},
		{"vals empty path", "ref+vault://#/k", "empty path"},
		{"vals bad version", "ref+vault://s/a?version=x#/k", "not a non-negative integer"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse(tt.in)
			var se *SyntaxError
			if !errors.As(err, &se) {
				t.Fatalf("Parse(%q) error = %v, want *SyntaxError", tt.in, err)
			}
			if !contains(se.Reason, tt.reason) {
				t.Fatalf("reason %q does not mention %q", se.Reason, tt.reason)
			}
			if FindAll(tt.in) != nil {
				t.Fatalf("FindAll(%q) should skip malformed references", tt.in)
			}
		})
	}
}

func TestGeneric(t *testing.T) {
	tests := []struct {
		in        string
		isGeneric bool
		refs      []Ref
	}{
		{"<password>", true, []Ref{{Kind: AVPGeneric, Key: "password", Start: 0, End: 10}}},
		{"  <token | base64encode> ", true, []Ref{{Kind: AVPGeneric, Key: "token", Modifiers: []Modifier{{Name: "base64encode"}}, Start: 2, End: 24}}},
		{"user-<name>-x", false, []Ref{{Kind: AVPGeneric, Key: "name", Start: 5, End: 11}}},
		{"<a href='x'>", false, nil},
		{"<none>", true, []Ref{{Kind: AVPGeneric, Key: "none", Start: 0, End: 6}}},
		{"<path:s/p#k>", false, []Ref{{Kind: AVPPath, Path: "s/p", Key: "k", Start: 0, End: 12}}},
		{"a < b > c", false, nil},
	}
	for _, tt := range tests {
		if got := IsGeneric(tt.in); got != tt.isGeneric {
			t.Errorf("IsGeneric(%q) = %v, want %v", tt.in, got, tt.isGeneric)
		}
		got, err := ParseWithGeneric(tt.in)
		if err != nil {
			t.Errorf("ParseWithGeneric(%q): %v", tt.in, err)
		}
		if !reflect.DeepEqual(got, tt.refs) {
			t.Errorf("ParseWithGeneric(%q)\n got %+v\nwant %+v", tt.in, got, tt.refs)
		}
	}
}

func TestRefStringNamesNoValue(t *testing.T) {
	tests := []struct {
		ref  Ref
		want string
	}{
		{Ref{Kind: AVPPath, Path: "secret/data/db", Key: "password", Version: "2"}, "secret/data/db#password#2"},
		{Ref{Kind: Vals, Path: "secret/app", Key: "k", Version: "1"}, "ref+vault://secret/app?version=1#/k"},
		{Ref{Kind: AVPGeneric, Key: "token"}, "<token>"},
	}
	for _, tt := range tests {
		if got := tt.ref.String(); got != tt.want {
			t.Errorf("String() = %q, want %q", got, tt.want)
		}
	}
}

func TestWhole(t *testing.T) {
	s := "  <path:s/p#replicas>  "
	refs := FindAll(s)
	if len(refs) != 1 || !refs[0].Whole(s) {
		t.Fatalf("want one whole-value reference in %q, got %+v", s, refs)
	}
	s = "n=<path:s/p#replicas>"
	if refs := FindAll(s); refs[0].Whole(s) {
		t.Fatalf("%q is not a whole-value reference", s)
	}
}

func contains(s, sub string) bool { return strings.Contains(s, sub) }

func TestParseWithOptions(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		opts    Options
		want    []Ref
		wantErr string
	}{
		{"AVP's non-numeric version is accepted when asked", "<path:secret/testing#k#version>", Options{AnyVersion: true},
			[]Ref{{Kind: AVPPath, Path: "secret/testing", Key: "k", Version: "version", Start: 0, End: 31}}, ""},
		{"and rejected by default", "<path:secret/testing#k#version>", Options{}, nil, "not a non-negative integer"},
		{"an empty version is never accepted", "<path:s/p#k#>", Options{AnyVersion: true}, nil, "empty version"},
		{"padded generic key before a pipeline", "<  data |jsonPath  {.a.b}|  jsonParse >", Options{Generic: true},
			[]Ref{{Kind: AVPGeneric, Key: "data", Modifiers: []Modifier{{Name: "jsonPath", Args: []string{"{.a.b}"}}, {Name: "jsonParse"}}, Start: 0, End: 39}}, ""},
		{"padded text without a pipeline is prose", "if a < b > c", Options{Generic: true}, nil, ""},
		{"empty angle brackets are prose", "<> < >", Options{Generic: true}, nil, ""},
		{"padded text with an unknown pipeline is prose", "a < b | c > d", Options{Generic: true}, nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseWith(tt.in, tt.opts)
			if tt.wantErr != "" {
				if err == nil || !contains(err.Error(), tt.wantErr) {
					t.Fatalf("ParseWith(%q) error = %v, want %q", tt.in, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseWith(%q): %v", tt.in, err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("ParseWith(%q)\n got %+v\nwant %+v", tt.in, got, tt.want)
			}
		})
	}
}
