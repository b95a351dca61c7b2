package scanner

import (
	"strings"

	"github.com/latchkey-dev/latchkey/scanner/rules"
)

// place is where a named literal sits. It decides how much the name must say
// before a value counts: a key of ordinary configuration is a credential
// only by its name, while anything that becomes Secret data is one unless
// the value is plainly configuration.
type place int

const (
	// atKey: the value of a configuration key or of an assignment in text
	// (a YAML key, NAME=value, a ConfigMap or configMapGenerator entry).
	atKey place = iota
	// atEnv: the value of a named entry whose name is all the context there
	// is: container env {name, value}, an Argo CD Helm parameter, an HTTP
	// header, a command-line flag and its argument.
	atEnv
	// inList: an item of a list named for what its items are ("apiKeys:",
	// "tokens:"), judged by the singular of the list's name. Such lists
	// often hold the names of Secrets instead ("secrets: [app-tls]").
	inList
	// underSecrets: a value under a key that declares its entries secrets
	// ("secrets:", "secretEnv:"): a generated-looking value counts whatever
	// its own key is.
	underSecrets
	// inSecretData: a value that becomes the data of a Secret: a Secret's
	// data or stringData, a SealedSecret's template, a secretGenerator
	// literal, env file or file. Every value counts except what is plainly
	// configuration (a host, a mode, a checksum) or public by its name.
	inSecretData
)

// verdict is what judge decides about a named literal.
type verdict int

const (
	// notSecret: nothing to report.
	notSecret verdict = iota
	// byName: the name says the value is a credential.
	byName
	// byPlace: the name says nothing, but where the value sits makes it
	// one (Secret data, a map of secrets).
	byPlace
)

// judge decides whether value, written under name at a place, is a plaintext
// credential. It is the scanner's one policy for named literals: every
// manifest field, env entry, generator literal and text assignment asks it
// after its own reading has found the name and the value. Provider token
// shapes are found everywhere by the rules, whatever judge says.
func judge(name, value string, at place) verdict {
	class := rules.ClassifyName(name)
	// The name first: most values of a document are under names that say
	// nothing, and reading a value's shape costs more than reading a name.
	if !mayHold(class, at) || !rules.Literal(value) {
		return notSecret // or a reference, a template, a placeholder, a path
	}
	if at == inSecretData {
		return judgeSecretData(class, value)
	}
	if spelledByName(name, value) {
		return notSecret // ReasonSecretsMissing = "SecretsMissing": a label
	}
	switch class {
	case rules.NameSecret:
		if at == inList && listOfNames(value) {
			return notSecret
		}
		return byName
	case rules.NameWeakSecret:
		// "secret: app-tls" names the object that holds the credential.
		switch {
		case rules.ObjectName(value):
			return notSecret
		case at == inList && listOfNames(value),
			(at == atKey || at == underSecrets) && rules.Hexish(value):
			return notSecret
		}
		return byName
	case rules.NameMaybeSecret:
		// "routingKey", "sortKey": only a generated-looking value is a key.
		if rules.Random(value) {
			return byName
		}
	case rules.NameOther:
		if at == underSecrets && rules.Random(value) {
			return byPlace
		}
	}
	return notSecret
}

// mayHold reports whether a name of class may hold a credential at a place.
func mayHold(class rules.NameClass, at place) bool {
	switch class {
	case rules.NameSecret, rules.NameWeakSecret, rules.NameMaybeSecret:
		return true
	case rules.NameOther:
		return at == inSecretData || at == underSecrets
	}
	return at == inSecretData // a public name, with a token-shaped value
}

// judgeSecretData judges a value that becomes Secret data: its name need
// not say secret, but configuration beside the credential (a host name, a
// mode, a duration, a checksum) is not one, and a public name (username,
// ca.crt) counts only with a credential-shaped value.
func judgeSecretData(class rules.NameClass, value string) verdict {
	switch class {
	case rules.NameSecret, rules.NameWeakSecret:
		return byName
	case rules.NameNotSecret:
		if rules.Token(value) {
			return byPlace
		}
		return notSecret
	case rules.NameMaybeSecret:
		if rules.PlainSetting(value) && !rules.Token(value) {
			return notSecret
		}
		return byName
	}
	if (rules.PlainSetting(value) || rules.Hexish(value)) && !rules.Token(value) {
		return notSecret
	}
	return byPlace
}

// listOfNames: an item of a credential-named list that is the name of an
// object or a checksum, not a credential.
func listOfNames(value string) bool {
	return rules.ObjectName(value) || rules.Hexish(value) && !rules.Random(value)
}

// namesCredential reports a name under which judge may find a credential
// outside Secret data: readers that must first look for the value (an env
// entry's "value:" on a later line) ask it before they do.
func namesCredential(name string) bool {
	switch rules.ClassifyName(name) {
	case rules.NameSecret, rules.NameWeakSecret, rules.NameMaybeSecret:
		return true
	}
	return false
}

// spelledByName reports a value the name itself spells out (separators and
// case aside): an enum constant or a label, which names what it is instead
// of holding a credential.
func spelledByName(name, value string) bool {
	v := squash(value)
	return len(v) >= 4 && strings.Contains(squash(name), v)
}

// squash lowercases s and drops everything but letters and digits.
func squash(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case 'a' <= r && r <= 'z', '0' <= r && r <= '9':
			return r
		case 'A' <= r && r <= 'Z':
			return r + 'a' - 'A'
		}
		return -1
	}, s)
}
