module judicialtrustledger.example/independentverifier

go 1.25.0

require (
	github.com/decred/dcrd/dcrec/secp256k1/v4 v4.4.1
	github.com/santhosh-tekuri/jsonschema/v6 v6.0.3
	golang.org/x/crypto v0.55.0
	golang.org/x/text v0.41.0
)

require golang.org/x/sys v0.47.0 // indirect
