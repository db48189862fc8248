package main

import (
	"errors"
	"testing"

	"github.com/hyperledger/fabric-chaincode-go/v2/shim"
)

// fakeStub answers the few stub calls Put and Get make; any other call
// panics through the nil embedded interface, which would show as a failure.
type fakeStub struct {
	shim.ChaincodeStubInterface
	args   [][]byte
	state  map[string][]byte
	events []string
}

func (s *fakeStub) GetArgs() [][]byte { return s.args }

func (s *fakeStub) GetState(key string) ([]byte, error) { return s.state[key], nil }

func (s *fakeStub) PutState(key string, value []byte) error {
	if key == "" {
		return errors.New("the real stub refuses empty keys too")
	}
	s.state[key] = value
	return nil
}

func (s *fakeStub) SetEvent(name string, payload []byte) error {
	s.events = append(s.events, name+"="+string(payload))
	return nil
}

func call(t *testing.T, state map[string][]byte, args ...string) (*fakeStub, int32, string, string) {
	t.Helper()
	stub := &fakeStub{state: state}
	for _, a := range args {
		stub.args = append(stub.args, []byte(a))
	}
	response := showcase{}.Invoke(stub)
	return stub, response.Status, response.Message, string(response.Payload)
}

func TestPutWritesAndEmitsTheKeyThenGetReadsIt(t *testing.T) {
	state := map[string][]byte{}
	stub, status, message, payload := call(t, state, "Put", "k1", "v1")
	if status != shim.OK || message != "" || payload != "" {
		t.Fatalf("Put: %d %q %q", status, message, payload)
	}
	if string(state["k1"]) != "v1" || len(stub.events) != 1 || stub.events[0] != "Put=k1" {
		t.Fatalf("Put wrote %q and emitted %v", state["k1"], stub.events)
	}
	if _, status, _, payload = call(t, state, "showcase:Get", "k1"); status != shim.OK || payload != "v1" {
		t.Fatalf("Get: %d %q", status, payload)
	}
}

// The messages are the Rust showcase's (chaincode/src/shim/contract.rs and
// the showcase's not_found), so clients see the same errors from both.
func TestErrorsMatchTheRustShowcase(t *testing.T) {
	cases := []struct {
		args []string
		want string
	}{
		{nil, "no function name given"},
		{[]string{"Get", "missing"}, `key "missing" does not exist`},
		{[]string{"Put", "k"}, "Put takes 2 argument(s) (key, value), got 1"},
		{[]string{"Get"}, "Get takes 1 argument(s) (key), got 0"},
		{[]string{"Nope"}, `function "Nope" does not exist in contract "showcase"`},
		{[]string{"other:Put", "k", "v"}, `contract "other" does not exist`},
		{[]string{"Put", "", "v"}, "a key must not be empty"},
		{[]string{"Put", "a\xffb", "v"}, "argument key is not valid UTF-8 (invalid byte at 1)"},
		{[]string{"Get", "tab\there\"q"}, `key "tab\there\"q" does not exist`},
	}
	for _, c := range cases {
		_, status, message, _ := call(t, map[string][]byte{}, c.args...)
		if status != shim.ERROR || message != c.want {
			t.Errorf("%q: got %d %q, want 500 %q", c.args, status, message, c.want)
		}
	}
}

func TestValuesMayBeAnyBytes(t *testing.T) {
	state := map[string][]byte{}
	if _, status, message, _ := call(t, state, "Put", "k", "\xff\x00"); status != shim.OK {
		t.Fatalf("Put of binary value: %d %q", status, message)
	}
}
