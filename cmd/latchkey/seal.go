package main

import (
	"bytes"
	"context"
	"crypto/rsa"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/latchkey-dev/latchkey/sealing"
)

// sealFlags are kubeseal's flags, with kubeseal's names, so muscle memory works.
type sealFlags struct {
	cert, controllerName, controllerNs string
	format, outputFile, inputFile      string
	fetchCert, allowEmptyData          bool
	validate, reEncrypt                bool
	mergeInto                          string
	raw                                bool
	name                               string
	fromFile                           []string
	scope                              string
	recoveryUnseal                     bool
	recoveryKeys                       []string
	kubeconfig                         string
	overrides                          clientcmd.ConfigOverrides
}

func newSealCommand() *cobra.Command {
	var fl sealFlags
	cmd := &cobra.Command{
		Use:   "seal",
		Short: "Seal a Secret into a SealedSecret (kubeseal-compatible)",
		Long: `Seal a Secret manifest (from --secret-file or standard input) into a SealedSecret that the
sealed-secrets controller, and Latchkey, can unseal. The flags are kubeseal's: --cert FILE|URL or the
controller's certificate fetched through the API server (--controller-name, --controller-namespace),
--scope, --raw with --name, --namespace and --from-file, --merge-into, --validate, --re-encrypt,
--fetch-cert, --recovery-unseal. The output is byte-for-byte in kubeseal's format (the upstream
code writes it). See docs/sealing.md.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runSeal(cmd, fl)
		},
	}
	f := cmd.Flags()
	f.StringVar(&fl.cert, "cert", "", "certificate file or URL to seal with; overrides --controller-*")
	f.StringVar(&fl.controllerNs, "controller-namespace", sealing.DefaultControllerNamespace, "namespace of the sealed-secrets controller")
	f.StringVar(&fl.controllerName, "controller-name", sealing.DefaultControllerName, "name of the sealed-secrets controller (its Service)")
	f.StringVarP(&fl.format, "format", "o", "json", "output format: json or yaml")
	f.StringVarP(&fl.outputFile, "sealed-secret-file", "w", "", "write the output to this file (atomically; .yaml or .yml selects yaml)")
	f.StringVarP(&fl.inputFile, "secret-file", "f", "", "read the input from this file instead of standard input")
	f.BoolVar(&fl.fetchCert, "fetch-cert", false, "print the controller's certificate, for later use with --cert")
	f.BoolVar(&fl.allowEmptyData, "allow-empty-data", false, "allow a Secret without data")
	f.BoolVar(&fl.validate, "validate", false, "ask the controller whether it can decrypt the SealedSecret given as input")
	f.BoolVar(&fl.reEncrypt, "re-encrypt", false, "have the controller re-encrypt the SealedSecret given as input with its latest key")
	f.StringVar(&fl.mergeInto, "merge-into", "", "seal the input Secret's values into this existing SealedSecret file, in place")
	f.BoolVar(&fl.raw, "raw", false, "encrypt one raw value (from --from-file or standard input) instead of a Secret")
	f.StringVar(&fl.name, "name", "", "name of the Secret (required with --raw and strict scope)")
	f.StringSliceVar(&fl.fromFile, "from-file", nil, "with --raw: the file holding the value ([key=]path, as kubectl)")
	f.StringVar(&fl.scope, "scope", "", "strict, namespace-wide or cluster-wide (default strict, or the input's scope annotations)")
	f.BoolVar(&fl.recoveryUnseal, "recovery-unseal", false, "decrypt the SealedSecret given as input with --recovery-private-key (disaster recovery)")
	f.StringSliceVar(&fl.recoveryKeys, "recovery-private-key", nil, "private key file for --recovery-unseal: PEM, or a backup of the key Secrets (repeatable)")
	f.StringVar(&fl.kubeconfig, "kubeconfig", "", "path to a kubeconfig; only needed out of cluster")
	clientcmd.BindOverrideFlags(&fl.overrides, f, clientcmd.RecommendedConfigOverrideFlags(""))
	return cmd
}

func runSeal(cmd *cobra.Command, fl sealFlags) (err error) {
	ctx := cmd.Context()
	if len(fl.fromFile) > 0 && !fl.raw {
		return errors.New("--from-file requires --raw")
	}
	scope, err := sealing.ParseScope(fl.scope)
	if err != nil {
		return err
	}
	loading := clientcmd.NewDefaultClientConfigLoadingRules()
	loading.ExplicitPath = fl.kubeconfig
	cluster := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(loading, &fl.overrides)
	src := sealing.CertSource{Cert: fl.cert, ControllerName: fl.controllerName, ControllerNamespace: fl.controllerNs, Cluster: cluster}

	var in io.Reader = cmd.InOrStdin()
	if fl.inputFile != "" {
		f, err := os.Open(fl.inputFile)
		if err != nil {
			return fmt.Errorf("--secret-file: %w", err)
		}
		defer f.Close()
		in = f
	}
	// The output is buffered and written once the command succeeded, to the
	// file (replaced atomically) or standard output.
	var out bytes.Buffer
	format := fl.format
	if ext := filepath.Ext(fl.outputFile); ext == ".yaml" || ext == ".yml" {
		format = "yaml"
	}
	defer func() {
		if err == nil {
			err = writeOutput(cmd, fl.outputFile, out.Bytes())
		}
	}()

	switch {
	case fl.recoveryUnseal:
		return recoveryUnseal(ctx, in, &out, fl.recoveryKeys, format)
	case fl.validate:
		return sealing.Validate(ctx, src, in)
	case fl.reEncrypt:
		return sealing.ReEncrypt(ctx, src, in, &out, format)
	}

	if !fl.raw && !fl.fetchCert {
		ns, _, _ := cluster.Namespace()
		if in, err = checkedSealInput(in, ns, scope, fl.inputFile); err != nil {
			return err
		}
	}
	pemBytes, err := fetchSealCert(ctx, src)
	if err != nil {
		return err
	}
	if fl.fetchCert {
		out.Write(pemBytes)
		return nil
	}
	pub, err := sealing.ParseCert(pemBytes)
	if err != nil {
		return err
	}
	ns, nsExplicit, _ := cluster.Namespace()
	opts := sealing.SealOptions{Format: format, Scope: scope, AllowEmptyData: fl.allowEmptyData, Name: fl.name, Namespace: ns, NamespaceExplicit: nsExplicit}

	switch {
	case fl.mergeInto != "":
		return sealing.MergeInto(in, fl.mergeInto, pub, opts)
	case fl.raw:
		return sealRawValue(cmd, fl, in, &out, pub, ns, scope)
	}
	if stdinIsTerminal() && fl.inputFile == "" {
		fmt.Fprintln(cmd.ErrOrStderr(), "(tty detected: expecting a Secret manifest in JSON or YAML on standard input)")
	}
	return sealing.SealStream(in, &out, pub, opts)
}

// checkedSealInput reads the whole input first, so a wrong input is named
// before a certificate is fetched, and in the user's terms, not the
// decoder's.
func checkedSealInput(in io.Reader, ns string, scope sealing.Scope, inputFile string) (io.Reader, error) {
	data, err := io.ReadAll(in)
	if err != nil {
		return nil, fmt.Errorf("reading the input: %w", err)
	}
	if err := checkSealInput(data, ns, scope, inputFile); err != nil {
		return nil, err
	}
	return bytes.NewReader(data), nil
}

// fetchSealCert reads the sealing certificate from --cert or the cluster,
// naming the ways to give one when neither works.
func fetchSealCert(ctx context.Context, src sealing.CertSource) ([]byte, error) {
	pemBytes, err := sealing.FetchCert(ctx, src)
	if err != nil && src.Cert == "" {
		return nil, fmt.Errorf("%w\nno sealing certificate: pass --cert FILE (or URL); get it once where the cluster is reachable "+
			"with latchkey seal --fetch-cert > sealed-secrets.pem, or give access to the cluster (--kubeconfig, KUBECONFIG, --context)", err)
	}
	return pemBytes, err
}

// sealRawValue seals one value (standard input or the one --from-file) as
// kubeseal --raw does: the ciphertext alone, for a template's field.
func sealRawValue(cmd *cobra.Command, fl sealFlags, in io.Reader, out io.Writer, pub *rsa.PublicKey, ns string, scope sealing.Scope) error {
	var value []byte
	var err error
	switch len(fl.fromFile) {
	case 0:
		if stdinIsTerminal() && fl.inputFile == "" {
			fmt.Fprintln(cmd.ErrOrStderr(), "(tty detected: expecting the value to encrypt on standard input)")
		}
		value, err = io.ReadAll(in)
	case 1:
		_, path, _ := strings.Cut(fl.fromFile[0], "=")
		if !strings.Contains(fl.fromFile[0], "=") {
			path = fl.fromFile[0]
		}
		value, err = os.ReadFile(path)
	default:
		return errors.New("--raw seals one value: give a single --from-file")
	}
	if err != nil {
		return fmt.Errorf("reading the value: %w", err)
	}
	if scope == sealing.ClusterWideScope {
		ns = ""
	}
	sealed, err := sealing.SealRaw(value, ns, fl.name, scope, pub)
	if err != nil {
		return err
	}
	_, err = io.WriteString(out, sealed)
	return err
}

func recoveryUnseal(ctx context.Context, in io.Reader, out io.Writer, keyFiles []string, format string) error {
	if len(keyFiles) == 0 {
		return errors.New("--recovery-unseal needs --recovery-private-key")
	}
	keys, err := sealing.KeysFromFiles(keyFiles...)
	if err != nil {
		return err
	}
	var obj unstructured.Unstructured
	if err := utilyaml.NewYAMLOrJSONDecoder(in, 4096).Decode(&obj.Object); err != nil {
		return fmt.Errorf("reading the SealedSecret: %w", err)
	}
	sec, err := sealing.NewUnsealer(keys).Unseal(ctx, &obj)
	if err != nil {
		return err
	}
	return sealing.WriteSecret(out, sec, format)
}

func writeOutput(cmd *cobra.Command, path string, data []byte) error {
	if path == "" {
		_, err := cmd.OutOrStdout().Write(data)
		return err
	}
	if st, err := os.Stat(path); err == nil && !st.Mode().IsRegular() {
		// A device (-w /dev/null), FIFO or socket: renaming over it would
		// replace the node with a regular file; it is written in place.
		return writeInPlace(path, data)
	}
	if target, err := filepath.EvalSymlinks(path); err == nil {
		path = target // replace the file a link points to, not the link
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

func writeInPlace(path string, data []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_TRUNC, 0)
	if err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return f.Close()
}

// checkSealInput names what is wrong with an input that is not a sealable
// Secret, and what to run instead.
func checkSealInput(data []byte, currentNs string, scope sealing.Scope, file string) error {
	name := "-f " + file + " -w " + file
	if file == "" {
		name = "-f SEALED_FILE -w SEALED_FILE"
	}
	dec := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(data), 4096)
	for n := 0; ; n++ {
		var obj map[string]any
		if err := dec.Decode(&obj); errors.Is(err, io.EOF) {
			if n == 0 {
				return errors.New("the input is empty: give a Secret manifest with -f FILE or on standard input " +
					"(kubectl create secret generic NAME --from-literal=KEY=VALUE --dry-run=client -o yaml | latchkey seal -o yaml)")
			}
			return nil
		} else if err != nil {
			return fmt.Errorf("the input is not a YAML or JSON Kubernetes manifest (%v): give a Secret, e.g. from "+
				"kubectl create secret generic NAME --from-literal=KEY=VALUE --dry-run=client -o yaml", err)
		}
		if obj == nil {
			n--
			continue
		}
		u := unstructured.Unstructured{Object: obj}
		switch kind := u.GetKind(); {
		case kind == "SealedSecret":
			return fmt.Errorf("the input is already sealed (SealedSecret %s): commit it as it is; to re-encrypt it with the "+
				"controller's latest key: latchkey seal --re-encrypt %s; to add or change values: latchkey seal --merge-into FILE -f NEW_SECRET_FILE", u.GetName(), name)
		case kind == "ConfigMap":
			return fmt.Errorf("the input is a ConfigMap (%s), and only Secrets are sealed: if it holds secret values, move them into "+
				"a Secret (kind: Secret, stringData: ...) and seal that; a ConfigMap without secrets is committed as it is", u.GetName())
		case kind != "Secret":
			return fmt.Errorf("the input is a %q, not a Secret: latchkey seal seals kind: Secret manifests", kind)
		}
		if u.GetNamespace() == "" && currentNs == "" && scope != sealing.ClusterWideScope &&
			u.GetAnnotations()["sealedsecrets.bitnami.com/cluster-wide"] != "true" {
			return fmt.Errorf("the Secret %s has no metadata.namespace, and there is no current namespace (no kubeconfig context): "+
				"add namespace: NAMESPACE to its metadata, or pass -n NAMESPACE, or seal it for any namespace with --scope cluster-wide", u.GetName())
		}
	}
}
