package charts

import (
	"bufio"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/yaml"

	"github.com/latchkey-dev/latchkey/internal/testenv"
)

// image is what the final stage of the Dockerfile makes.
type image struct {
	entrypoint []string
	uid, gid   int64
}

// finalStage reads USER and ENTRYPOINT (exec form) of the Dockerfile's last
// stage: the image the chart and the Argo CD sidecars run.
func finalStage(t *testing.T, path string) image {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var img image
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		instr, arg, _ := strings.Cut(strings.TrimSpace(sc.Text()), " ")
		switch strings.ToUpper(instr) {
		case "FROM":
			img = image{}
		case "USER":
			u, g, ok := strings.Cut(strings.TrimSpace(arg), ":")
			uid, err1 := strconv.ParseInt(u, 10, 64)
			gid, err2 := strconv.ParseInt(g, 10, 64)
			if !ok || err1 != nil || err2 != nil {
				t.Fatalf("Dockerfile: USER %s: want numeric UID:GID (runAsNonRoot needs numbers)", arg)
			}
			img.uid, img.gid = uid, gid
		case "ENTRYPOINT":
			if err := json.Unmarshal([]byte(arg), &img.entrypoint); err != nil {
				t.Fatalf("Dockerfile: ENTRYPOINT %s: want the exec form: %v", arg, err)
			}
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return img
}

// TestImageAgreesWithChartAndPlugins: the Dockerfile, the chart's
// Deployment and the Argo CD plugin files agree on the image, where the
// binary is and which user runs it.
func TestImageAgreesWithChartAndPlugins(t *testing.T) {
	root := testenv.ModuleRoot(t)
	img := finalStage(t, filepath.Join(root, "Dockerfile"))
	if !reflect.DeepEqual(img.entrypoint, []string{"/latchkey"}) || img.uid == 0 || img.gid == 0 {
		t.Fatalf("final image: entrypoint %q, user %d:%d; want [/latchkey] and a non-root user", img.entrypoint, img.uid, img.gid)
	}

	r, err := renderChart(t, "latchkey", releaseNamespace, parseValues(t, ""))
	if err != nil {
		t.Fatal(err)
	}
	var d appsv1.Deployment
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(r.find("Deployment")[0].Object, &d); err != nil {
		t.Fatal(err)
	}
	pod := d.Spec.Template.Spec
	c := pod.Containers[0]
	repository, _, _ := strings.Cut(c.Image, ":")
	if repository != "ghcr.io/latchkey-dev/latchkey" {
		t.Errorf("the chart runs image %s", c.Image)
	}
	if len(c.Command) != 0 || len(c.Args) == 0 || c.Args[0] != "controller" {
		t.Errorf("the chart's container: command %q args %q; want the image's entrypoint with args [controller ...]", c.Command, c.Args)
	}
	psc := pod.SecurityContext
	if psc == nil || psc.RunAsUser == nil || *psc.RunAsUser != img.uid || psc.RunAsGroup == nil || *psc.RunAsGroup != img.gid ||
		psc.FSGroup == nil || *psc.FSGroup != img.gid {
		t.Errorf("the chart's pod securityContext %+v does not run as the image's user %d:%d", psc, img.uid, img.gid)
	}

	deploy := filepath.Join(root, "deploy", "argocd")
	data, err := os.ReadFile(filepath.Join(deploy, "cmp-plugins.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var plugins struct{ Data map[string]string }
	if err := yaml.Unmarshal(data, &plugins); err != nil || len(plugins.Data) == 0 {
		t.Fatalf("cmp-plugins.yaml: %v", err)
	}
	for name, def := range plugins.Data {
		var p struct {
			Spec struct {
				Generate struct{ Command []string }
			}
		}
		if err := yaml.Unmarshal([]byte(def), &p); err != nil {
			t.Fatal(err)
		}
		if cmd := p.Spec.Generate.Command; len(cmd) == 0 || cmd[0] != img.entrypoint[0] {
			t.Errorf("plugin %s runs %q: not the image's binary %s", name, cmd, img.entrypoint[0])
		}
	}
	data, err = os.ReadFile(filepath.Join(deploy, "repo-server-patch.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var patch appsv1.Deployment
	if err := yaml.Unmarshal(data, &patch); err != nil {
		t.Fatal(err)
	}
	for _, sc := range patch.Spec.Template.Spec.Containers {
		repo, _, _ := strings.Cut(sc.Image, ":")
		// Argo CD's cmp-server talks to the repo-server as user 999.
		if repo != repository || sc.SecurityContext == nil || sc.SecurityContext.RunAsUser == nil || *sc.SecurityContext.RunAsUser != 999 {
			t.Errorf("sidecar %s: image %s, securityContext %+v; want %s as user 999", sc.Name, sc.Image, sc.SecurityContext, repository)
		}
	}
}
