// manifestcheck strictly decodes rendered Kubernetes manifests (`helm template`
// output, on stdin or in files) into the typed Kubernetes API structs, rejecting
// unknown or misplaced fields and wrong types, the way the API server's strict field
// validation does. No cluster needed. It also decodes the container/volume snippets
// and the strategic-merge patch that the tickbridge chart ships in its sidecar
// ConfigMap. The prometheus-operator kinds the chart renders (ServiceMonitor,
// PodMonitor, PrometheusRule) are decoded into its monitoring/v1 API types.
//
//	helm template t helm/tickbridge | go run ./helm/tools/manifestcheck
package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	rbacv1 "k8s.io/api/rbac/v1"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	"sigs.k8s.io/yaml"
)

func newObject(apiVersion, kind string) any {
	switch apiVersion + "/" + kind {
	case "v1/ConfigMap":
		return &corev1.ConfigMap{}
	case "v1/Secret":
		return &corev1.Secret{}
	case "v1/Service":
		return &corev1.Service{}
	case "v1/ServiceAccount":
		return &corev1.ServiceAccount{}
	case "v1/Pod":
		return &corev1.Pod{}
	case "apps/v1/Deployment":
		return &appsv1.Deployment{}
	case "apps/v1/StatefulSet":
		return &appsv1.StatefulSet{}
	case "apps/v1/DaemonSet":
		return &appsv1.DaemonSet{}
	case "batch/v1/Job":
		return &batchv1.Job{}
	case "policy/v1/PodDisruptionBudget":
		return &policyv1.PodDisruptionBudget{}
	case "monitoring.coreos.com/v1/ServiceMonitor":
		return &monitoringv1.ServiceMonitor{}
	case "monitoring.coreos.com/v1/PodMonitor":
		return &monitoringv1.PodMonitor{}
	case "monitoring.coreos.com/v1/PrometheusRule":
		return &monitoringv1.PrometheusRule{}
	case "rbac.authorization.k8s.io/v1/Role":
		return &rbacv1.Role{}
	case "rbac.authorization.k8s.io/v1/RoleBinding":
		return &rbacv1.RoleBinding{}
	}
	return nil
}

// strict decodes YAML into out, failing on unknown fields, duplicate keys and type errors.
func strict(doc []byte, out any) error {
	js, err := yaml.YAMLToJSONStrict(doc)
	if err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(js))
	dec.DisallowUnknownFields()
	if err := dec.Decode(out); err != nil {
		return err
	}
	return nil
}

// splitDocs splits a YAML stream on lines that are exactly "---".
func splitDocs(r io.Reader) ([][]byte, error) {
	var docs [][]byte
	var cur bytes.Buffer
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 1<<26)
	for sc.Scan() {
		line := sc.Text()
		if strings.TrimRight(line, " ") == "---" {
			docs = append(docs, append([]byte(nil), cur.Bytes()...))
			cur.Reset()
			continue
		}
		cur.WriteString(line)
		cur.WriteByte('\n')
	}
	docs = append(docs, cur.Bytes())
	return docs, sc.Err()
}

func main() {
	var inputs []io.Reader
	if len(os.Args) > 1 {
		for _, p := range os.Args[1:] {
			f, err := os.Open(p)
			if err != nil {
				fmt.Fprintln(os.Stderr, err)
				os.Exit(2)
			}
			defer f.Close()
			inputs = append(inputs, f)
		}
	} else {
		inputs = append(inputs, os.Stdin)
	}

	failed, checked := 0, 0
	fail := func(what string, err error) {
		failed++
		fmt.Printf("FAIL %s: %v\n", what, err)
	}
	for _, in := range inputs {
		docs, err := splitDocs(in)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
		for _, doc := range docs {
			var head struct {
				APIVersion string `json:"apiVersion"`
				Kind       string `json:"kind"`
				Metadata   struct {
					Name string `json:"name"`
				} `json:"metadata"`
			}
			if err := yaml.Unmarshal(doc, &head); err != nil {
				fail("document", err)
				continue
			}
			if head.Kind == "" {
				continue // empty document (comments only)
			}
			what := fmt.Sprintf("%s %s", head.Kind, head.Metadata.Name)
			obj := newObject(head.APIVersion, head.Kind)
			if obj == nil {
				fmt.Printf("skip %s (%s: no typed schema here)\n", what, head.APIVersion)
				continue
			}
			checked++
			if err := strict(doc, obj); err != nil {
				fail(what, err)
				continue
			}
			fmt.Printf("ok   %s\n", what)
			if cm, ok := obj.(*corev1.ConfigMap); ok {
				for key, target := range map[string]any{
					"initContainers.yaml": &[]corev1.Container{},
					"volumes.yaml":        &[]corev1.Volume{},
					"patch.yaml":          &appsv1.Deployment{},
				} {
					if data, ok := cm.Data[key]; ok {
						checked++
						if err := strict([]byte(data), target); err != nil {
							fail(what+" data."+key, err)
						} else {
							fmt.Printf("ok   %s data.%s\n", what, key)
						}
					}
				}
			}
		}
	}
	fmt.Printf("manifestcheck: %d checked, %d failed\n", checked, failed)
	if failed > 0 || checked == 0 {
		os.Exit(1)
	}
}
