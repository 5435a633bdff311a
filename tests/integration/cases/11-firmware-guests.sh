# The firmware/ test guests (modes, devices, exit codes, reset, triple
# fault, multiboot, ...) under kvmrun, each checked against its spec in
# tests/integration/guests/*.spec (status, serial output, debugcon).
. ./lib.sh
[ -f "$PAYLOAD/guests/run-kvmrun.sh" ] || skip "guest specs are not in the payload"
bash "$PAYLOAD/guests/run-kvmrun.sh" --kvmrun "$KVMRUN" --fw "$FW"
