package rules

import "testing"

func TestLiteral(t *testing.T) {
	for _, tc := range []struct {
		value string
		want  bool
	}{
		{"hunter2-Prod", true}, {"S3cr3tP@ss", true}, {"Pr0d DB pa55", true}, {"123456789", true},
		{"postgres://app:pw-8s7d@db/app", true},
		// References, resolved by the controller.
		{"<path:secret/data/db#password>", false}, {"<path:kv/data/a#b#3 | base64encode>", false},
		{"<password>", false}, {"ref+vault://secret/db#/password", false},
		{"postgres://app:<path:secret/data/db#password>@db/app", false},
		{"Bearer <path:secret/data/api#token>", false},
		// Substitutions and templates.
		{"${DB_PASSWORD}", false}, {"$(cat /run/secrets/x)", false}, {"{{ .Values.password }}", false},
		{"$DB_PASSWORD", false}, {"${{ secrets.TOKEN }}", false},
		{"ENC[AES256_GCM,data:abc=,iv:def=,tag:ghi=,type:str]", false},
		// Not credentials.
		{"", false}, {"  ", false}, {"true", false}, {"null", false}, {"8080", false},
		{"changeme", false}, {"REPLACE_ME", false}, {"xxxxxxxx", false}, {"<your-token-here>", false},
		{"/var/run/secrets/token", false}, {"https://auth.example.com/token", false},
		{"credentials.json", false}, {"DB_PASSWORD", false}, {"10.0.0.0/8", false},
		{"$2y$10$9L4Tc0DJbFFMB6RdSCunrOpTHdwhid4ktBJmLD00bYgqkkGOvll3m", false},
		{"get_secret_value(\"x\")", false}, {"-----BEGIN CERTIFICATE-----\nMIIB", false},
		{"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl", false},
		{"the value is set by the operator", false},
	} {
		if got := Literal(tc.value); got != tc.want {
			t.Errorf("Literal(%q) = %v, want %v", tc.value, got, tc.want)
		}
	}
}

func TestHexishAndObjectName(t *testing.T) {
	for _, v := range []string{"9fceb02d0ae598e95dc970b74767f19372d61af8", "123e4567-e89b-12d3-a456-426614174000",
		"sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"} {
		if !Hexish(v) {
			t.Errorf("Hexish(%q) = false", v)
		}
	}
	if Hexish("ghp_0123456789abcdef") {
		t.Error("a token is not a checksum")
	}
	for v, want := range map[string]bool{"app-credentials": true, "web.example-tls": true, "USERNAME": true,
		"aB3$kd9_Lq": false, "hunter2-Prod-9": false} {
		if got := ObjectName(v); got != want {
			t.Errorf("ObjectName(%q) = %v, want %v", v, got, want)
		}
	}
}

func TestPlainSettingAndRandom(t *testing.T) {
	for _, tc := range []struct {
		value         string
		plain, random bool
	}{
		// Configuration kept beside credentials.
		{"prod.acme.io", true, false}, {"no-reply@acme.io", true, false}, {"verify-full", true, false},
		{"EUR", true, false}, {"2500ms", true, false}, {"v1.4.2", true, false}, {"refunds,partial-capture", true, false},
		{"kubernetes.io/hostname", false, false}, {"release-2024-05-14", false, false}, {"123e4567-e89b-12d3-a456-426614174000", false, false},
		// Credentials.
		{"test-password", false, false}, {"Q3AM3UQ867SPQQA43P2F", false, true}, {"8ea2fa122beee386a6ce0cdb82b0bab2", false, true},
		{"/MJTp4LYH/d/yNwXR4YM2ENQGFaPaYIsMXC9NDeD5+w=", false, true}, {"hunter2-Prod", false, false},
	} {
		if got := PlainSetting(tc.value); got != tc.plain {
			t.Errorf("PlainSetting(%q) = %v, want %v", tc.value, got, tc.plain)
		}
		if got := Random(tc.value); got != tc.random {
			t.Errorf("Random(%q) = %v, want %v", tc.value, got, tc.random)
		}
	}
	// A base64 value is not a file path although it starts with a slash.
	if !Literal("/MJTp4LYH/d/yNwXR4YM2ENQGFaPaYIsMXC9NDeD5+w=") {
		t.Error("a base64 key starting with / is a literal")
	}
	// Bank-Vaults references are resolved by the webhook, not plaintext.
	if Literal("vault:secret/data/app/db#password#2") {
		t.Error("a Bank-Vaults reference is not a literal")
	}
}
