package sealing

import (
	"bytes"
	"context"
	"crypto/rsa"
	"fmt"
	"io"

	"github.com/bitnami-labs/sealed-secrets/pkg/kubeseal"
	"k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
)

// maxCertSize bounds what is read as a certificate.
const maxCertSize = 1 << 20

// CertSource says where the controller's public certificate comes from:
// Cert (a file or an http(s) URL), else the controller itself through the
// API server's service proxy (/v1/cert.pem of Service ControllerName in
// ControllerNamespace), with the kubeconfig of Cluster.
type CertSource struct {
	Cert                string
	ControllerName      string
	ControllerNamespace string
	Cluster             clientcmd.ClientConfig
}

// FetchCert returns the PEM certificate, as `kubeseal --fetch-cert` does.
func FetchCert(ctx context.Context, src CertSource) ([]byte, error) {
	name, ns := src.ControllerName, src.ControllerNamespace
	if name == "" {
		name = DefaultControllerName
	}
	if ns == "" {
		ns = DefaultControllerNamespace
	}
	var cc kubeseal.ClientConfig = noCluster{}
	if src.Cluster != nil {
		cc = src.Cluster
	}
	r, err := kubeseal.OpenCert(ctx, cc, ns, name, src.Cert)
	if err != nil {
		if src.Cert != "" {
			return nil, fmt.Errorf("reading the certificate %s: %w", src.Cert, err)
		}
		return nil, fmt.Errorf("fetching the certificate of controller %s/%s through the API server: %w", ns, name, err)
	}
	defer r.Close()
	pem, err := io.ReadAll(io.LimitReader(r, maxCertSize))
	if err != nil {
		return nil, fmt.Errorf("reading the certificate: %w", err)
	}
	return pem, nil
}

// ParseCert reads the controller's public key from its PEM certificate and
// refuses an expired one, as kubeseal does.
func ParseCert(pem []byte) (*rsa.PublicKey, error) {
	pub, err := kubeseal.ParseKey(bytes.NewReader(pem))
	if err != nil {
		return nil, fmt.Errorf("parsing the sealing certificate: %w", err)
	}
	return pub, nil
}

// Validate asks the controller whether it can decrypt each SealedSecret
// of in (`kubeseal --validate`).
func Validate(ctx context.Context, src CertSource, in io.Reader) error {
	name, ns := src.ControllerName, src.ControllerNamespace
	if name == "" {
		name = DefaultControllerName
	}
	if ns == "" {
		ns = DefaultControllerNamespace
	}
	if src.Cluster == nil {
		return fmt.Errorf("validating needs access to the cluster")
	}
	return kubeseal.ValidateSealedSecret(ctx, src.Cluster, ns, name, in)
}

type noCluster struct{}

func (noCluster) ClientConfig() (*rest.Config, error) {
	return nil, fmt.Errorf("no kubeconfig: give --cert, or access to the cluster")
}
func (noCluster) Namespace() (string, bool, error) { return "", false, nil }

// ReEncrypt asks the controller to re-encrypt each SealedSecret of in with
// its latest key (`kubeseal --re-encrypt`).
func ReEncrypt(ctx context.Context, src CertSource, in io.Reader, out io.Writer, format string) error {
	name, ns := src.ControllerName, src.ControllerNamespace
	if name == "" {
		name = DefaultControllerName
	}
	if ns == "" {
		ns = DefaultControllerNamespace
	}
	if src.Cluster == nil {
		return fmt.Errorf("re-encrypting needs access to the cluster")
	}
	return kubeseal.ReEncryptSealedSecret(ctx, src.Cluster, ns, name, formatOrJSON(format), in, out, scheme.Codecs)
}
