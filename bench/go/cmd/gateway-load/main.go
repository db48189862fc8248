// Command gateway-load drives one chaincode through Fabric's official Go
// Gateway client and reports its own CPU cost, for comparison with the Rust
// SDK's twin (client-sdk/examples/gateway_load.rs). Both take the same flags
// and print the same one-line JSON report, so scripts/bench-baseline.sh can
// run either.
//
// One connection to one peer, one user: W warm-up submits, then N submits
// of Put(key, value) (each waits for its commit), then W warm-up evaluates,
// then M evaluates of Get(key), with K calls in flight. CPU (getrusage user +
// sys) and wall time are measured around each measured phase only, so
// process start, key loading, the TLS handshake and warm-up are excluded.
package main

import (
	"crypto/x509"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/hyperledger/fabric-gateway/pkg/client"
	"github.com/hyperledger/fabric-gateway/pkg/hash"
	"github.com/hyperledger/fabric-gateway/pkg/identity"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
)

// The parts of .network/<net>/network.json that a client needs.
type description struct {
	Channel       string `json:"channel"`
	Organizations []struct {
		Name  string `json:"name"`
		MspID string `json:"msp_id"`
		Peers []struct {
			Name       string `json:"name"`
			Address    string `json:"address"`
			ServerName string `json:"server_name"`
			TLSCACert  string `json:"tls_ca_cert"`
		} `json:"peers"`
		Users []struct {
			Name string `json:"name"`
			Cert string `json:"cert"`
			Key  string `json:"key"`
		} `json:"users"`
	} `json:"organizations"`
}

type options struct {
	network, org, peer, user, channel, chaincode string
	submits, evaluates, concurrency, warmup      int
	valueSize                                    int
	keyPrefix, getPrefix                         string
	getKeys                                      int
}

// phase is one measured phase of the report.
type phase struct {
	Count  int     `json:"count"`
	Errors int     `json:"errors"`
	CPUMs  float64 `json:"cpu_ms"`
	UserMs float64 `json:"user_ms"`
	SysMs  float64 `json:"sys_ms"`
	WallMs float64 `json:"wall_ms"`
}

type report struct {
	Client      string `json:"client"`
	Chaincode   string `json:"chaincode"`
	Peer        string `json:"peer"`
	User        string `json:"user"`
	Concurrency int    `json:"concurrency"`
	Warmup      int    `json:"warmup"`
	ValueSize   int    `json:"value_size"`
	Submit      phase  `json:"submit"`
	Evaluate    phase  `json:"evaluate"`
	// CPU of the whole process up to the report, setup and warm-up included.
	ProcessCPUMs float64 `json:"process_cpu_ms"`
	FirstError   string  `json:"first_error,omitempty"`
}

func parseFlags() (options, error) {
	var o options
	fs := flag.NewFlagSet("gateway-load", flag.ContinueOnError)
	fs.StringVar(&o.network, "network", ".network/net1/network.json", "network description written by scripts/network.sh up")
	fs.StringVar(&o.org, "org", "org1", "organisation (name or MSP id)")
	fs.StringVar(&o.peer, "peer", "", "gateway peer name (default: the organisation's first peer)")
	fs.StringVar(&o.user, "user", "User1", "user to sign as")
	fs.StringVar(&o.channel, "channel", "", "channel (default: the description's channel)")
	fs.StringVar(&o.chaincode, "chaincode", "showcase", "chaincode name")
	fs.IntVar(&o.submits, "submits", 100, "Put submits, each waiting for its commit")
	fs.IntVar(&o.evaluates, "evaluates", 100, "Get evaluates")
	fs.IntVar(&o.concurrency, "concurrency", 8, "calls in flight")
	fs.IntVar(&o.warmup, "warmup", 10, "unmeasured calls of each measured kind before its phase")
	fs.IntVar(&o.valueSize, "value-size", 64, "bytes per value")
	fs.StringVar(&o.keyPrefix, "key-prefix", "", "prefix of the keys written (default: unique per run)")
	fs.StringVar(&o.getPrefix, "get-prefix", "", "prefix of the keys read (default: --key-prefix)")
	fs.IntVar(&o.getKeys, "get-keys", 0, "number of keys read, <get-prefix>-0.. (default: --submits)")
	if err := fs.Parse(os.Args[1:]); err != nil {
		return o, err
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	if o.submits < 0 || o.evaluates < 0 || o.warmup < 0 || o.valueSize < 0 || o.getKeys < 0 {
		return o, errors.New("counts and sizes must not be negative")
	}
	if o.concurrency < 1 {
		return o, errors.New("--concurrency must be at least 1")
	}
	if o.keyPrefix == "" {
		o.keyPrefix = fmt.Sprintf("load-%d-%d", time.Now().UnixNano(), os.Getpid())
	}
	if o.getPrefix == "" {
		o.getPrefix = o.keyPrefix
	}
	if o.getKeys == 0 {
		o.getKeys = o.submits
	}
	if o.evaluates > 0 && o.getKeys == 0 {
		return o, errors.New("evaluates need keys to read: give --submits, or --get-prefix and --get-keys")
	}
	return o, nil
}

// cpuTime is this process's user and system CPU time so far.
func cpuTime() (user, sys time.Duration, err error) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0, 0, fmt.Errorf("getrusage: %w", err)
	}
	return time.Duration(ru.Utime.Nano()), time.Duration(ru.Stime.Nano()), nil
}

func ms(d time.Duration) float64 { return float64(d.Nanoseconds()) / 1e6 }

// connect opens the gRPC connection to the chosen peer and a gateway that
// signs as the chosen user.
func connect(o *options) (*grpc.ClientConn, *client.Gateway, string, error) {
	raw, err := os.ReadFile(o.network)
	if err != nil {
		return nil, nil, "", fmt.Errorf("reading the network description: %w", err)
	}
	var desc description
	if err := json.Unmarshal(raw, &desc); err != nil {
		return nil, nil, "", fmt.Errorf("parsing %s: %w", o.network, err)
	}
	if o.channel == "" {
		o.channel = desc.Channel
	}
	for _, org := range desc.Organizations {
		if org.Name != o.org && org.MspID != o.org {
			continue
		}
		if len(org.Peers) == 0 {
			return nil, nil, "", fmt.Errorf("organisation %s has no peers", o.org)
		}
		p := org.Peers[0]
		if o.peer != "" {
			found := false
			for _, candidate := range org.Peers {
				if candidate.Name == o.peer {
					p, found = candidate, true
				}
			}
			if !found {
				return nil, nil, "", fmt.Errorf("organisation %s has no peer %s", o.org, o.peer)
			}
		}
		for _, u := range org.Users {
			if u.Name != o.user {
				continue
			}
			conn, err := dial(p.Address, p.ServerName, p.TLSCACert)
			if err != nil {
				return nil, nil, "", err
			}
			gw, err := gateway(conn, org.MspID, u.Cert, u.Key)
			if err != nil {
				_ = conn.Close()
				return nil, nil, "", err
			}
			return conn, gw, p.Name, nil
		}
		return nil, nil, "", fmt.Errorf("organisation %s has no user %s", o.org, o.user)
	}
	return nil, nil, "", fmt.Errorf("no organisation %s in %s", o.org, o.network)
}

func dial(address, serverName, caFile string) (*grpc.ClientConn, error) {
	caPEM, err := os.ReadFile(caFile)
	if err != nil {
		return nil, fmt.Errorf("reading the peer's TLS CA: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(caPEM) {
		return nil, fmt.Errorf("no certificate in %s", caFile)
	}
	conn, err := grpc.NewClient(address, grpc.WithTransportCredentials(credentials.NewClientTLSFromCert(pool, serverName)))
	if err != nil {
		return nil, fmt.Errorf("connecting to %s: %w", address, err)
	}
	// Connect now, so the handshake is part of setup and not of the first phase.
	conn.Connect()
	return conn, nil
}

// fromPEMFile reads the user's `what` (certificate or key) from path and
// parses it, saying which step failed.
func fromPEMFile[T any](path, what string, parse func([]byte) (T, error)) (T, error) {
	var parsed T
	pem, err := os.ReadFile(path)
	if err != nil {
		return parsed, fmt.Errorf("reading the user's %s: %w", what, err)
	}
	parsed, err = parse(pem)
	if err != nil {
		return parsed, fmt.Errorf("parsing %s: %w", path, err)
	}
	return parsed, nil
}

func gateway(conn *grpc.ClientConn, mspID, certFile, keyFile string) (*client.Gateway, error) {
	cert, err := fromPEMFile(certFile, "certificate", identity.CertificateFromPEM)
	if err != nil {
		return nil, err
	}
	id, err := identity.NewX509Identity(mspID, cert)
	if err != nil {
		return nil, err
	}
	key, err := fromPEMFile(keyFile, "key", identity.PrivateKeyFromPEM)
	if err != nil {
		return nil, err
	}
	sign, err := identity.NewPrivateKeySign(key)
	if err != nil {
		return nil, err
	}
	// The same deadlines as the Rust SDK's defaults.
	return client.Connect(id, client.WithSign(sign), client.WithHash(hash.SHA256),
		client.WithClientConnection(conn),
		client.WithEvaluateTimeout(5*time.Second), client.WithEndorseTimeout(15*time.Second),
		client.WithSubmitTimeout(5*time.Second), client.WithCommitStatusTimeout(60*time.Second))
}

// errorLog keeps the first failed call's message.
type errorLog struct {
	mu    sync.Mutex
	first string
}

func (e *errorLog) add(err error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.first == "" {
		e.first = strings.ReplaceAll(err.Error(), "\n", " ")
	}
}

// runCalls makes n calls of call(i), i = 0..n-1, with k in flight, and
// returns how many failed.
func runCalls(n, k int, call func(i int) error, errs *errorLog) int {
	var next, failed atomic.Int64
	var wg sync.WaitGroup
	for w := 0; w < min(k, n); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				if err := call(i); err != nil {
					failed.Add(1)
					errs.add(err)
				}
			}
		}()
	}
	wg.Wait()
	return int(failed.Load())
}

// measure runs one phase and returns its CPU and wall time.
func measure(n, k int, call func(i int) error, errs *errorLog) (phase, error) {
	u0, s0, err := cpuTime()
	if err != nil {
		return phase{}, err
	}
	start := time.Now()
	failed := runCalls(n, k, call, errs)
	wall := time.Since(start)
	u1, s1, err := cpuTime()
	if err != nil {
		return phase{}, err
	}
	user, sys := u1-u0, s1-s0
	return phase{Count: n, Errors: failed, CPUMs: ms(user + sys), UserMs: ms(user), SysMs: ms(sys), WallMs: ms(wall)}, nil
}

func run() error {
	o, err := parseFlags()
	if err != nil {
		return err
	}
	conn, gw, peerName, err := connect(&o)
	if err != nil {
		return err
	}
	defer func() { _ = conn.Close() }()
	defer func() { _ = gw.Close() }()
	contract := gw.GetNetwork(o.channel).GetContract(o.chaincode)

	value := strings.Repeat("v", o.valueSize)
	putKey := func(prefix string) func(i int) error {
		return func(i int) error {
			_, err := contract.SubmitTransaction("Put", fmt.Sprintf("%s-%d", prefix, i), value)
			return err
		}
	}
	getKey := func(i int) error {
		_, err := contract.EvaluateTransaction("Get", fmt.Sprintf("%s-%d", o.getPrefix, i%o.getKeys))
		return err
	}

	rep := report{Client: "go-gateway", Chaincode: o.chaincode, Peer: peerName, User: o.user,
		Concurrency: o.concurrency, Warmup: o.warmup, ValueSize: o.valueSize}
	var errs, warmErrs errorLog
	if o.submits > 0 {
		runCalls(o.warmup, o.concurrency, putKey(o.keyPrefix+"-warmup"), &warmErrs)
		if rep.Submit, err = measure(o.submits, o.concurrency, putKey(o.keyPrefix), &errs); err != nil {
			return err
		}
	}
	if o.evaluates > 0 {
		runCalls(o.warmup, o.concurrency, getKey, &warmErrs)
		if rep.Evaluate, err = measure(o.evaluates, o.concurrency, getKey, &errs); err != nil {
			return err
		}
	}
	user, sys, err := cpuTime()
	if err != nil {
		return err
	}
	rep.ProcessCPUMs = ms(user + sys)
	rep.FirstError = errs.first
	if rep.FirstError == "" && warmErrs.first != "" {
		rep.FirstError = "warm-up: " + warmErrs.first
	}
	line, err := json.Marshal(rep)
	if err != nil {
		return err
	}
	fmt.Println(string(line))
	return nil
}

func main() {
	if err := run(); err != nil {
		fmt.Fprintf(os.Stderr, "gateway-load: %v\n", err)
		os.Exit(1)
	}
}
