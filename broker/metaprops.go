package broker

import (
	"bufio"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/ordo-broker/ordo/broker/fs"
)

// metaProperties is Kafka's meta.properties: it ties a data directory to a
// cluster and a node, so a directory is never used by the wrong broker.
type metaProperties struct {
	clusterID string
	nodeID    int32
}

const metaPropertiesFile = "meta.properties"

// loadMetaProperties reads meta.properties, or writes it on first start. A
// directory that belongs to another node or cluster is refused.
func loadMetaProperties(fsys fs.FS, dir string, nodeID int32, clusterID string) (metaProperties, error) {
	path := filepath.Join(dir, metaPropertiesFile)
	f, err := fsys.OpenFile(path, os.O_RDONLY, 0)
	switch {
	case err == nil:
		defer f.Close()
		props, err := parseMetaProperties(f)
		if err != nil {
			return metaProperties{}, fmt.Errorf("broker: %s: %w", path, err)
		}
		if props.nodeID != nodeID {
			return metaProperties{}, fmt.Errorf("broker: data directory %s belongs to node %d, not node %d", dir, props.nodeID, nodeID)
		}
		if clusterID != "" && props.clusterID != clusterID {
			return metaProperties{}, fmt.Errorf("broker: data directory %s belongs to cluster %s, not %s", dir, props.clusterID, clusterID)
		}
		return props, nil
	case !errors.Is(err, os.ErrNotExist):
		return metaProperties{}, fmt.Errorf("broker: %w", err)
	}
	if clusterID == "" {
		// Kafka's cluster ids are 16 random bytes in URL-safe base64.
		var b [16]byte
		_, _ = rand.Read(b[:])
		clusterID = base64.RawURLEncoding.EncodeToString(b[:])
	}
	props := metaProperties{clusterID: clusterID, nodeID: nodeID}
	content := fmt.Sprintf("version=1\ncluster.id=%s\nnode.id=%d\n", clusterID, nodeID)
	tmp := path + ".tmp"
	w, err := fsys.OpenFile(tmp, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return metaProperties{}, fmt.Errorf("broker: %w", err)
	}
	_, err = io.WriteString(w, content)
	if err == nil {
		err = w.Sync()
	}
	if cerr := w.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = fsys.Rename(tmp, path)
	}
	if err == nil {
		err = fsys.SyncDir(dir)
	}
	if err != nil {
		return metaProperties{}, fmt.Errorf("broker: writing %s: %w", path, err)
	}
	return props, nil
}

func parseMetaProperties(r io.Reader) (metaProperties, error) {
	var props metaProperties
	haveNode := false
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			return props, fmt.Errorf("malformed line %q", line)
		}
		switch k {
		case "cluster.id":
			props.clusterID = v
		case "node.id":
			n, err := strconv.ParseInt(v, 10, 32)
			if err != nil {
				return props, fmt.Errorf("node.id %q: %w", v, err)
			}
			props.nodeID, haveNode = int32(n), true
		}
	}
	if err := sc.Err(); err != nil {
		return props, err
	}
	if props.clusterID == "" || !haveNode {
		return props, errors.New("cluster.id or node.id missing")
	}
	return props, nil
}
