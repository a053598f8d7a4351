package driver

import (
	"maps"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/lvm-iscsi-csi/lvm-iscsi-csi/pkg/pool"
)

// The StorageClass parameters, defined once. Everything else follows from
// parameterTable: the one parse of a request's parameters (CreateVolume,
// ValidateVolumeCapabilities, GetCapacity), the volume_context that carries
// node-side parameters to NodeStageVolume and their parse there, the mkfs
// options, and, written by hack/gen-parameters, the table in
// docs/storageclass.md and the chart schema's parameters (a test fails when
// either is stale).
//
// Adding a parameter: an entry here (with its field in Parameters), then
// - one that changes how the LV is made: its field in pool.CreateRequest,
//   copied in createRequest below, mapped to lvm.CreateOptions by
//   createOptions in pkg/pool/create.go and turned into lvcreate's argv in
//   pkg/lvm/create.go;
// - one the node needs at stage time: get (for volume_context) and, if it
//   changes mkfs, formatOptions; nothing outside this file.
// and a test of what it changes (the table's own tests cover parsing).

// Applies says where a parameter takes effect.
type Applies string

const (
	// AppliesController: the controller uses it when it creates the LV.
	AppliesController Applies = "controller"
	// AppliesNode: the node uses it when it stages the volume. The
	// controller validates it and passes it on in the volume's
	// volume_context, which Kubernetes keeps in the PersistentVolume
	// (spec.csi.volumeAttributes) and hands to NodeStageVolume.
	AppliesNode Applies = "node"
)

// Parameter is one StorageClass parameter.
type Parameter struct {
	Key string
	// Values lists the allowed values. A parameter whose values cannot be
	// listed has Pattern instead: a regular expression the whole value must
	// match (RE2, kept to what JSON Schema's ECMA dialect also reads).
	Values  []string
	Pattern string
	// Default says what an absent key means (Markdown, for the docs).
	Default string
	Applies Applies
	// Doc says what the parameter does (Markdown, one line, no "|").
	Doc string

	// set stores a valid value in p; value is "" when the key is absent:
	// set then stores the default, which may depend on the controller's
	// configuration (env; zero on the node).
	set func(p *Parameters, value string, env ParameterEnv)
	// get is the value of a node-side parameter for volume_context, ""
	// for the default (the key is then left out).
	get func(p Parameters) string
	// formatOptions, for a node-side parameter that changes the
	// filesystem, are its mkfs arguments for fsType (ext4 or xfs); nil for
	// the default.
	formatOptions func(p Parameters, fsType string) []string
}

// Parameters are a request's StorageClass parameters, validated, with the
// defaults filled in.
type Parameters struct {
	// Controller side.
	Provisioning  pool.Provisioning
	WriteCacheOff bool
	// Node side.
	BlockSize int // filesystem block size in bytes; 0: mkfs's own choice
}

// ParameterEnv is what a default may depend on: the controller's
// configuration.
type ParameterEnv struct {
	DefaultProvisioning pool.Provisioning // thin when --thin-pool is set
}

var parameterTable = []Parameter{
	{
		Key:     "provisioning",
		Values:  []string{string(pool.Thin), string(pool.Thick)},
		Default: "`thin` when the controller runs with `--thin-pool`, otherwise `thick`",
		Applies: AppliesController,
		Doc: "`thin`: a thin LV in the thin pool (space taken on first write; the pool zeroes new blocks; " +
			"space is returned when the volume is deleted: nodes get no discard). `thick`: a plain LV with all its extents allocated " +
			"at creation; zeroed when deleted. `thin` from a controller without `--thin-pool` is `InvalidArgument`",
		set: func(p *Parameters, v string, env ParameterEnv) {
			if v == "" {
				v = string(env.DefaultProvisioning)
			}
			p.Provisioning = pool.Provisioning(v)
		},
	},
	{
		Key:     "writeCache",
		Values:  []string{"on", "off"},
		Default: "`on`",
		Applies: AppliesController,
		Doc: "`on`: tgtd acknowledges a write once it is in the storage host's page cache, and makes it durable when the node " +
			"flushes (filesystems do at each commit, `fsync` does): the contract of a disk with a volatile write cache. `off`: the LUN " +
			"is write through, every write is synced to the LV before it is acknowledged, for software that never flushes; " +
			"its cost is measured in docs/benchmarks.md, \"Data path tuning\". Set when the volume is made",
		set: func(p *Parameters, v string, _ ParameterEnv) {
			p.WriteCacheOff = v == "off"
		},
	},
	{
		Key:     "blockSize",
		Values:  []string{"1024", "2048", "4096"},
		Default: "mkfs's own choice (from the volume's size and `/etc/mke2fs.conf` for ext4)",
		Applies: AppliesNode,
		Doc: "Block size in bytes of the filesystem the node makes on a new volume (`mkfs.ext4 -b N`, " +
			"`mkfs.xfs -b size=N`). Only a volume without a filesystem is formatted: it has no effect on " +
			"`volumeMode: Block`, on a volume restored from a snapshot or cloned, or on a volume staged before",
		set: func(p *Parameters, v string, _ ParameterEnv) {
			p.BlockSize, _ = strconv.Atoi(v) // "": 0
		},
		get: func(p Parameters) string {
			if p.BlockSize == 0 {
				return ""
			}
			return strconv.Itoa(p.BlockSize)
		},
		formatOptions: func(p Parameters, fsType string) []string {
			switch {
			case p.BlockSize == 0:
				return nil
			case fsType == "xfs":
				return []string{"-b", "size=" + strconv.Itoa(p.BlockSize)}
			default: // ext4
				return []string{"-b", strconv.Itoa(p.BlockSize)}
			}
		},
	},
}

// ParameterTable returns the table (for hack/gen-parameters and tests).
func ParameterTable() []Parameter {
	out := slices.Clone(parameterTable)
	for i := range out {
		out[i].Values = slices.Clone(out[i].Values)
	}
	return out
}

// allows reports whether value is one of the parameter's.
func (d *Parameter) allows(value string) bool {
	if d.Values != nil {
		return slices.Contains(d.Values, value)
	}
	return d.patternRE().MatchString(value)
}

func (d *Parameter) patternRE() *regexp.Regexp {
	return regexp.MustCompile(`^(?:` + d.Pattern + `)$`)
}

// Want says which values are allowed, for error messages and docs.
func (d *Parameter) Want() string {
	if d.Values == nil {
		return "a value matching " + d.Pattern
	}
	switch len(d.Values) {
	case 1:
		return d.Values[0]
	default:
		return strings.Join(d.Values[:len(d.Values)-1], ", ") + " or " + d.Values[len(d.Values)-1]
	}
}

func knownKeys(applies Applies) string {
	var keys []string
	for _, d := range parameterTable {
		if applies == "" || d.Applies == applies {
			keys = append(keys, d.Key)
		}
	}
	return strings.Join(keys, ", ")
}

func lookupParameter(key string) *Parameter {
	for i := range parameterTable {
		if parameterTable[i].Key == key {
			return &parameterTable[i]
		}
	}
	return nil
}

// ParseParameters reads a request's StorageClass parameters: every key must
// be in the table or start with csi.storage.k8s.io/ (keys csi-provisioner
// adds itself; accepted and ignored), every value must be allowed
// (InvalidArgument otherwise). Absent keys get their defaults.
func ParseParameters(params map[string]string, env ParameterEnv) (Parameters, error) {
	for _, k := range slices.Sorted(maps.Keys(params)) {
		d := lookupParameter(k)
		switch {
		case d != nil:
			if !d.allows(params[k]) {
				return Parameters{}, invalid("parameter %s=%q: want %s", k, params[k], d.Want())
			}
		case strings.HasPrefix(k, kubernetesParamPrefix):
		default:
			return Parameters{}, invalid("unknown parameter %q (known: %s)", k, knownKeys(""))
		}
	}
	var p Parameters
	for _, d := range parameterTable {
		d.set(&p, params[d.Key], env)
	}
	return p, nil
}

// ParseVolumeContext reads the node-side parameters back from a volume's
// volume_context (NodeStageVolume), with the same checks as ParseParameters:
// an invalid value is InvalidArgument. Other keys are ignored: Kubernetes
// adds its own (storage.kubernetes.io/csiProvisionerIdentity), and a volume
// created before a parameter existed lacks it (its default applies).
func ParseVolumeContext(vc map[string]string) (Parameters, error) {
	var p Parameters
	for _, d := range parameterTable {
		if d.Applies != AppliesNode {
			continue
		}
		v, ok := vc[d.Key]
		if ok && !d.allows(v) {
			return Parameters{}, invalid("volume_context %s=%q: want %s", d.Key, v, d.Want())
		}
		d.set(&p, v, ParameterEnv{})
	}
	return p, nil
}

// VolumeContext is what CreateVolume returns for the node: the node-side
// parameters that differ from their defaults (nil when none does).
func (p Parameters) VolumeContext() map[string]string {
	var vc map[string]string
	for _, d := range parameterTable {
		if d.Applies != AppliesNode {
			continue
		}
		if v := d.get(p); v != "" {
			if vc == nil {
				vc = map[string]string{}
			}
			vc[d.Key] = v
		}
	}
	return vc
}

// FormatOptions are the mkfs arguments the node-side parameters ask for on
// a new fsType filesystem, ahead of mount-utils' own (nil when none).
func (p Parameters) FormatOptions(fsType string) []string {
	var args []string
	for _, d := range parameterTable {
		if d.formatOptions != nil {
			args = append(args, d.formatOptions(p, fsType)...)
		}
	}
	return args
}

// createRequest puts the controller-side parameters into a pool request.
func (p Parameters) createRequest(r pool.CreateRequest) pool.CreateRequest {
	r.Provisioning = p.Provisioning
	r.WriteCacheOff = p.WriteCacheOff
	return r
}
