// Command showcase-go is the Go twin of the Rust showcase chaincode's Put and
// Get (chaincode/examples/showcase.rs), served with Fabric's official Go shim
// in chaincode-as-a-service mode. The CPU benchmark (scripts/bench-baseline.sh)
// runs both side by side, so the two must do the same work: the same routing
// ("Put" or "showcase:Put"), the same argument checks, the same ledger calls,
// the same event, and the same results and error messages.
//
// Configuration comes from the environment, as for the Rust server:
// CHAINCODE_ID, CHAINCODE_SERVER_ADDRESS and, for TLS, CHAINCODE_TLS_KEY_FILE
// with CHAINCODE_TLS_CERT_FILE and optionally CHAINCODE_TLS_CLIENT_CA_FILE
// (mutual TLS).
package main

import (
	"errors"
	"fmt"
	"log"
	"os"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/hyperledger/fabric-chaincode-go/v2/shim"
	"github.com/hyperledger/fabric-protos-go-apiv2/peer"
)

// contractName is the default (and only) contract, as in the Rust showcase.
const contractName = "showcase"

type param struct {
	name       string
	utf8String bool // a string parameter must be valid UTF-8; bytes need not be
}

type function struct {
	params []param
	run    func(stub shim.ChaincodeStubInterface, args [][]byte) ([]byte, error)
}

var functions = map[string]function{
	"Put": {params: []param{{"key", true}, {"value", false}}, run: put},
	"Get": {params: []param{{"key", true}}, run: get},
}

// put writes the value under the key and emits a "Put" event carrying the key.
func put(stub shim.ChaincodeStubInterface, args [][]byte) ([]byte, error) {
	key := string(args[0])
	// The Rust stub refuses empty keys itself, with this message; checking
	// here gives the client the same text.
	if key == "" {
		return nil, errors.New("a key must not be empty")
	}
	if err := stub.PutState(key, args[1]); err != nil {
		return nil, err
	}
	if err := stub.SetEvent("Put", []byte(key)); err != nil {
		return nil, err
	}
	return nil, nil
}

// get returns the committed value of the key; an absent (or empty) value is
// an error, as in the Rust showcase.
func get(stub shim.ChaincodeStubInterface, args [][]byte) ([]byte, error) {
	key := string(args[0])
	value, err := stub.GetState(key)
	if err != nil {
		return nil, err
	}
	if len(value) == 0 {
		return nil, fmt.Errorf("key %s does not exist", debugQuote(key))
	}
	return value, nil
}

type showcase struct{}

// Init succeeds without arguments and otherwise runs the named function,
// like the Rust contract chaincode.
func (showcase) Init(stub shim.ChaincodeStubInterface) *peer.Response {
	if len(stub.GetArgs()) == 0 {
		return shim.Success(nil)
	}
	return respond(dispatch(stub))
}

func (showcase) Invoke(stub shim.ChaincodeStubInterface) *peer.Response {
	return respond(dispatch(stub))
}

func respond(payload []byte, err error) *peer.Response {
	if err != nil {
		return shim.Error(err.Error())
	}
	return shim.Success(payload)
}

func dispatch(stub shim.ChaincodeStubInterface) ([]byte, error) {
	args := stub.GetArgs()
	if len(args) == 0 {
		return nil, errors.New("no function name given")
	}
	target := args[0]
	if pos, ok := invalidUTF8(target); ok {
		return nil, fmt.Errorf("argument function name is not valid UTF-8 (invalid byte at %d)", pos)
	}
	contract, name := contractName, string(target)
	if i := strings.LastIndexByte(name, ':'); i >= 0 {
		contract, name = name[:i], name[i+1:]
	}
	if contract != contractName {
		return nil, fmt.Errorf("contract %s does not exist", debugQuote(contract))
	}
	fn, ok := functions[name]
	if !ok {
		return nil, fmt.Errorf("function %s does not exist in contract %s", debugQuote(name), debugQuote(contract))
	}
	values := args[1:]
	if len(values) != len(fn.params) {
		names := make([]string, len(fn.params))
		for i, p := range fn.params {
			names[i] = p.name
		}
		return nil, fmt.Errorf("%s takes %d argument(s) (%s), got %d",
			name, len(fn.params), strings.Join(names, ", "), len(values))
	}
	for i, p := range fn.params {
		if pos, bad := invalidUTF8(values[i]); p.utf8String && bad {
			return nil, fmt.Errorf("argument %s is not valid UTF-8 (invalid byte at %d)", p.name, pos)
		}
	}
	return fn.run(stub, values)
}

// invalidUTF8 reports the offset of the first byte that is not valid UTF-8.
func invalidUTF8(b []byte) (int, bool) {
	for i := 0; i < len(b); {
		r, size := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && size <= 1 {
			return i, true
		}
		i += size
	}
	return 0, false
}

// debugQuote quotes s the way Rust's {:?} does for the strings clients send,
// so error messages match the Rust showcase's byte for byte.
func debugQuote(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch r {
		case '"':
			b.WriteString(`\"`)
		case '\\':
			b.WriteString(`\\`)
		case '\n':
			b.WriteString(`\n`)
		case '\r':
			b.WriteString(`\r`)
		case '\t':
			b.WriteString(`\t`)
		case 0:
			b.WriteString(`\0`)
		default:
			if unicode.IsControl(r) {
				fmt.Fprintf(&b, `\u{%x}`, r)
			} else {
				b.WriteRune(r)
			}
		}
	}
	b.WriteByte('"')
	return b.String()
}

func env(name string) string { return os.Getenv(name) }

// tlsProperties reads the TLS files named by the environment, with the same
// rules as the Rust server: key and certificate together turn TLS on, and a
// client CA (mutual TLS) needs both.
func tlsProperties() (shim.TLSProperties, error) {
	keyFile, certFile, caFile := env("CHAINCODE_TLS_KEY_FILE"), env("CHAINCODE_TLS_CERT_FILE"), env("CHAINCODE_TLS_CLIENT_CA_FILE")
	switch {
	case keyFile == "" && certFile == "" && caFile == "":
		return shim.TLSProperties{Disabled: true}, nil
	case keyFile == "" && certFile == "":
		return shim.TLSProperties{}, errors.New("environment variable CHAINCODE_TLS_CLIENT_CA_FILE is invalid: client authentication needs TLS: set the key and certificate files too")
	case keyFile == "":
		return shim.TLSProperties{}, errors.New("CHAINCODE_TLS_KEY_FILE is not set")
	case certFile == "":
		return shim.TLSProperties{}, errors.New("CHAINCODE_TLS_CERT_FILE is not set")
	}
	props := shim.TLSProperties{}
	var err error
	if props.Key, err = os.ReadFile(keyFile); err != nil {
		return props, fmt.Errorf("cannot read %s: %w", keyFile, err)
	}
	if props.Cert, err = os.ReadFile(certFile); err != nil {
		return props, fmt.Errorf("cannot read %s: %w", certFile, err)
	}
	if caFile != "" {
		if props.ClientCACerts, err = os.ReadFile(caFile); err != nil {
			return props, fmt.Errorf("cannot read %s: %w", caFile, err)
		}
	}
	return props, nil
}

func run() error {
	id, address := env("CHAINCODE_ID"), env("CHAINCODE_SERVER_ADDRESS")
	if id == "" {
		return errors.New("CHAINCODE_ID is not set")
	}
	if address == "" {
		return errors.New("CHAINCODE_SERVER_ADDRESS is not set")
	}
	tlsProps, err := tlsProperties()
	if err != nil {
		return err
	}
	server := &shim.ChaincodeServer{CCID: id, Address: address, CC: showcase{}, TLSProps: tlsProps}
	log.Printf("serving chaincode %s on %s (tls: %t)", id, address, !tlsProps.Disabled)
	return server.Start()
}

func main() {
	if err := run(); err != nil {
		log.Fatalf("showcase-go: %v", err)
	}
}
