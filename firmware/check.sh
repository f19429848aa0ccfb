#!/usr/bin/env bash
# Builds the firmware in release, twice: the Ed25519 image (default) and the P-384 image
# (`--features p384`, a Caliptra-style engine behind `Signer`). For each it proves there is no
# reachable panic (the sentinel symbol `lightcone_panic_is_possible` must be absent from the
# ELF), reports flash and static RAM, and, when qemu-system-arm is installed, runs it on the
# mps2-an386 (Cortex-M4) board and checks its signed response against the known-answer vector
# (tests/vectors/core.txt: section `[seed 1]`, or `[seed 7 ecdsa-p384-sha384]`).
#
# Exit status: 0 all checks passed; 1 a check failed. Needs the thumbv7em-none-eabihf target,
# and llvm-nm/llvm-size/llvm-objdump or their arm-none-eabi-* counterparts.
set -euo pipefail
cd "$(dirname "$0")"
root=$(cd .. && pwd)
target_dir=${CARGO_TARGET_DIR:-$PWD/target}
sentinel=lightcone_panic_is_possible
status=0

tool() { # first available of: llvm-<name>, arm-none-eabi-<name>
    for t in "llvm-$1" "arm-none-eabi-$1"; do
        if command -v "$t" >/dev/null; then echo "$t"; return; fi
    done
    echo "firmware/check.sh: neither llvm-$1 nor arm-none-eabi-$1 is installed" >&2
    exit 1
}
NM=$(tool nm); SIZE=$(tool size); OBJDUMP=$(tool objdump)

echo "== clippy (deny unwrap, expect, panic, indexing), both images"
cargo clippy --release --locked --target-dir "$target_dir" -- -D warnings
cargo clippy --release --locked --target-dir "$target_dir/p384" --features p384 -- -D warnings

# check_image NAME TARGET_DIR FEATURES VECTOR_SECTION
check_image() {
    local name=$1 dir=$2 features=$3 section=$4
    local elf=$dir/thumbv7em-none-eabihf/release/lightcone-firmware
    echo "== [$name] build (release, opt-level s, LTO, panic=abort)"
    cargo build --release --locked --target-dir "$dir" $features

    echo "== [$name] sizes"
    "$SIZE" -A "$elf" | awk '
        $1 == ".vector_table" || $1 == ".text" || $1 == ".rodata" { flash += $2 }
        $1 == ".data" { flash += $2; ram += $2 }
        $1 == ".bss" || $1 == ".uninit" { ram += $2 }
        $1 ~ /^\.(vector_table|text|rodata|data|bss|uninit)$/ { printf "%-14s %8d bytes\n", $1, $2 }
        END { printf "flash (vector table + .text + .rodata + .data): %d bytes\n", flash;
              printf "static RAM (.data + .bss + .uninit): %d bytes\n", ram }'

    echo "== [$name] panic check"
    if "$NM" "$elf" | grep -q " $sentinel\$"; then
        echo "FAIL: $sentinel is in the release ELF: some panic is reachable. Call sites:"
        # Every call into core::panicking / slice-index failure, with the function it sits in
        # and the source line the debug info gives for it.
        "$OBJDUMP" -d -l --no-show-raw-insn "$elf" | awk '
            /^[0-9a-f]+ <.*>:$/ { fn = $2 }
            /^; \// { src = $2 }
            /\tbl?\t.*<.*(panicking|index_fail|len_mismatch_fail|unwrap_failed|expect_failed)/ && fn !~ /panicking|index_fail|len_mismatch_fail/ {
                print "  " fn " at " src " -> " $NF
            }' | sort -u
        status=1
    else
        echo "ok: $sentinel is absent: no panic is reachable"
    fi

    echo "== [$name] run on QEMU mps2-an386"
    if command -v qemu-system-arm >/dev/null; then
        local out expected got
        out=$(timeout 300 qemu-system-arm -cpu cortex-m4 -machine mps2-an386 -nographic \
            -semihosting-config enable=on,target=native -kernel "$elf") || {
            echo "FAIL: firmware exited with an error under QEMU: $out"; status=1; return; }
        echo "$out"
        expected=$(awk -v s="[$section]" '$0 == s { on = 1; next } /^\[/ { on = 0 }
            on && /^response / { print $NF; exit }' "$root/tests/vectors/core.txt")
        got=$(echo "$out" | sed -n 's/^response=//p')
        if [ -n "$expected" ] && [ "$got" = "$expected" ]; then
            echo "ok: the response signed on the Cortex-M4 equals the known-answer vector ($section)"
        else
            echo "FAIL: response differs from tests/vectors/core.txt [$section]: expected $expected"
            status=1
        fi
    else
        echo "skipped: qemu-system-arm is not installed (apt-get install qemu-system-arm)"
    fi
}

check_image ed25519 "$target_dir" "" "seed 1"
check_image p384 "$target_dir/p384" "--features p384" "seed 7 ecdsa-p384-sha384"

# Positive control: with a panic made reachable on purpose the sentinel must appear, or the
# checks above prove nothing.
cargo build --release --locked --target-dir "$target_dir/control" --features reachable-panic -q
if "$NM" "$target_dir/control/thumbv7em-none-eabihf/release/lightcone-firmware" | grep -q " $sentinel\$"; then
    echo "ok: control build with a reachable panic keeps the sentinel"
else
    echo "FAIL: the control build with a reachable panic lost the sentinel; the check is blind"
    status=1
fi
exit $status
