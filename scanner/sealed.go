package scanner

import (
	"encoding/binary"
	"fmt"
	"strings"
	"unicode/utf8"

	yaml "go.yaml.in/yaml/v3"

	"github.com/latchkey-dev/latchkey/scanner/manifest"
	"github.com/latchkey-dev/latchkey/scanner/rules"
)

// sealedSecret checks a SealedSecret: encryptedData must look like
// sealed-secrets ciphertext, and spec.template must not carry the values in
// the clear (template.data and template.stringData are copied verbatim into
// the unsealed Secret).
func (f *fileScan) sealedSecret(root *yaml.Node, name string) {
	spec := manifest.Get(root, "spec")
	manifest.Entries(manifest.Get(spec, "encryptedData"), func(k, v *yaml.Node) {
		if v.Kind != yaml.ScalarNode || !rules.Literal(v.Value) || ciphertextShape(v.Value) {
			return
		}
		line, col := f.valuePos(v)
		f.report(finding{
			check: checkSealed,
			why:   fmt.Sprintf("SealedSecret %q encryptedData.%s is not sealed-secrets ciphertext", name, k.Value),
			line:  line, col: col, keyLine: k.Line, secret: v.Value, object: name, key: k.Value,
		})
	})
	for _, field := range []string{"data", "stringData"} {
		manifest.Entries(manifest.GetPath(spec, "template", field), func(k, v *yaml.Node) {
			// The template is copied verbatim into the unsealed Secret.
			if v.Kind != yaml.ScalarNode || judge(k.Value, v.Value, inSecretData) == notSecret {
				return
			}
			line, col := f.valuePos(v)
			f.report(finding{
				check: checkSealed,
				why:   fmt.Sprintf("SealedSecret %q spec.template.%s.%s is plaintext next to the ciphertext", name, field, k.Value),
				line:  line, col: col, keyLine: k.Line, secret: v.Value, object: name, key: k.Value,
			})
		})
	}
	f.walk(spec, walkContext{check: checkSealed, object: name, skipTop: map[string]bool{"encryptedData": true, "template": true}})
	if t := manifest.Get(spec, "template"); t != nil {
		f.walk(t, walkContext{check: checkSealed, object: name, skipTop: map[string]bool{"data": true, "stringData": true}})
	}
}

// ciphertextShape recognises sealed-secrets hybrid ciphertext: base64 of a
// 2-byte big-endian length, an RSA-OAEP-encrypted session key of that
// length, and the AES-GCM sealed value. Shortened examples in documentation
// still decode to random bytes, which plaintext never does.
func ciphertextShape(v string) bool {
	raw, ok := decodeBase64(v)
	if !ok {
		// Long runs of the base64 alphabet that do not decode are ciphertext
		// mangled by copy-paste or line wrapping, not something typed.
		return len(v) >= 64 && strings.Trim(v, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=\n ") == ""
	}
	b := []byte(raw)
	if len(b) >= 2 {
		n := int(binary.BigEndian.Uint16(b[:2]))
		if (n == 128 || n == 256 || n == 384 || n == 512 || n == 1024) && len(b) >= 2+n+16 {
			return true
		}
	}
	// Not the full shape: accept random-looking bytes, reject text.
	return !utf8.Valid(b) || printable(b) < len(b)*3/4
}

func printable(b []byte) int {
	n := 0
	for _, c := range b {
		if c >= 0x20 && c < 0x7f || c == '\n' || c == '\t' {
			n++
		}
	}
	return n
}
