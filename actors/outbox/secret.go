package outbox

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// Master key sources and limits.
const (
	KeyEnv      = "LEDGERD_WEBHOOK_KEY" // hex or base64 of the master key
	KeyFile     = "webhook.key"         // in the data dir: hex of the key, mode 0600
	KeyBytes    = 32                    // a created key's length
	KeyBytesMin = 32                    // the shortest key accepted
	secretLabel = "whsec_"
)

// Key errors.
var (
	ErrKeyPermissions = errors.New("outbox: webhook key file readable by others (want mode 0600)")
	ErrKeyFormat      = errors.New("outbox: webhook key is not hex or base64 of at least 32 bytes")
)

// Secret is the signing secret of id at rotation: "whsec_" and the
// unpadded base64url of HMAC-SHA256(master, id + "/" + rotation). Derived
// on demand, so it is never stored; never log it.
func Secret(master []byte, id string, rotation int64) string {
	m := hmac.New(sha256.New, master)
	m.Write([]byte(id + "/" + strconv.FormatInt(rotation, 10)))
	return secretLabel + base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// LoadMasterKey returns the webhook master key: the environment's
// LEDGERD_WEBHOOK_KEY (hex or base64) if set, else <dataDir>/webhook.key,
// created with 32 random bytes (mode 0600) if absent. A key file that
// others may read is refused.
func LoadMasterKey(dataDir string) ([]byte, error) {
	if v, ok := os.LookupEnv(KeyEnv); ok {
		key, err := parseKey(v)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", KeyEnv, err)
		}
		return key, nil
	}
	path := filepath.Join(dataDir, KeyFile)
	key, err := readKeyFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		if err := createKeyFile(dataDir, path); err != nil {
			return nil, err
		}
		key, err = readKeyFile(path)
	}
	return key, err
}

func parseKey(v string) ([]byte, error) {
	v = strings.TrimSpace(v)
	for _, dec := range []func(string) ([]byte, error){hex.DecodeString, base64.StdEncoding.DecodeString,
		base64.RawStdEncoding.DecodeString, base64.URLEncoding.DecodeString, base64.RawURLEncoding.DecodeString} {
		if key, err := dec(v); err == nil && len(key) >= KeyBytesMin {
			return key, nil
		}
	}
	return nil, ErrKeyFormat
}

func readKeyFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("outbox: webhook key: %w", err)
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("outbox: webhook key: %w", err)
	}
	if info.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("%w: %s is %v", ErrKeyPermissions, path, info.Mode().Perm())
	}
	buf := make([]byte, 1024)
	n, _ := f.Read(buf)
	key, err := parseKey(string(buf[:n]))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return key, nil
}

// createKeyFile writes a new random key, durably, unless another process
// created one first (then that one is used).
func createKeyFile(dataDir, path string) error {
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return fmt.Errorf("outbox: webhook key: %w", err)
	}
	key := make([]byte, KeyBytes)
	if _, err := rand.Read(key); err != nil {
		return fmt.Errorf("outbox: webhook key: %w", err)
	}
	tmp, err := os.CreateTemp(dataDir, KeyFile+".tmp*")
	if err != nil {
		return fmt.Errorf("outbox: webhook key: %w", err)
	}
	defer os.Remove(tmp.Name())
	err = errors.Join(tmp.Chmod(0o600), writeAll(tmp, []byte(hex.EncodeToString(key)+"\n")), tmp.Sync(), tmp.Close())
	if err != nil {
		return fmt.Errorf("outbox: webhook key: %w", err)
	}
	if err := os.Link(tmp.Name(), path); err != nil && !errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("outbox: webhook key: %w", err)
	}
	if d, err := os.Open(dataDir); err == nil {
		err = errors.Join(d.Sync(), d.Close())
		if err != nil {
			return fmt.Errorf("outbox: webhook key: sync dir: %w", err)
		}
	}
	return nil
}

func writeAll(f *os.File, b []byte) error {
	_, err := f.Write(b)
	return err
}
