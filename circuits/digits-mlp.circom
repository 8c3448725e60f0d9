pragma circom 2.1.0;

// proofboard task "digits-mlp": one shard of the evaluation set run through a fixed-point 16-8-10 MLP. main
// takes 64 rows, the whole eval set, so a claim carries one proof (a pairing check each: verifying is the cost
// that the server pays per claim, proving the one the submitter pays).
// Semantics (must match src/zk/reference-evaluator.ts exactly; docs/zk.md has the prose version):
//   x[16]  in 0..64  : UCI optical digits 8x8, 2x2 sum-pooled to 4x4
//   acc1_k = B1[k] + sum_i W1[k][i] * x[i]            W in [-128,127], B in [-32768,32767]
//   h_k    = acc1_k >= 0 ? floor(acc1_k / 64) : 0      (ReLU then shift by 6)
//   acc2_j = B2[j] + sum_k W2[j][k] * h_k
//   pred   = the first index of max(acc2)               (numpy argmax tie rule)
//   correct = number of samples with pred == label
include "circomlib/circuits/poseidon.circom";
include "circomlib/circuits/bitify.circom";

// Packs n signed values of the given width into one field element after checking each is in
// [-2^(width-1), 2^(width-1)). Without the range check the packing would not be injective and a prover
// could open one commitment to two different models.
template SignedPack(n, width) {
    signal input in[n];
    signal output out;
    component bits[n];
    var acc = 0;
    for (var i = 0; i < n; i++) {
        bits[i] = Num2Bits(width);
        bits[i].in <== in[i] + (1 << (width - 1));
        acc += (in[i] + (1 << (width - 1))) * (1 << (width * i));
    }
    out <== acc;
}

// One sample: 7-bit features, label 0..9 as a checked one-hot; outputs its packed form and whether the
// model predicts the label.
template Sample() {
    signal input x[16];
    signal input label;
    signal input W1[8][16];
    signal input B1[8];
    signal input W2[10][8];
    signal input B2[10];
    signal output packed;
    signal output correct;

    // Features are range-checked so that the packed value opens to exactly one feature vector.
    component xb[16];
    var p = 0;
    for (var i = 0; i < 16; i++) {
        xb[i] = Num2Bits(7);
        xb[i].in <== x[i];
        p += x[i] * (1 << (7 * i));
    }
    // Label as one-hot: each bit boolean, exactly one set, its index equal to the label (so label is in 0..9).
    signal e[10];
    var esum = 0;
    var eidx = 0;
    for (var j = 0; j < 10; j++) {
        e[j] <-- label == j ? 1 : 0;
        e[j] * (e[j] - 1) === 0;
        esum += e[j];
        eidx += j * e[j];
    }
    esum === 1;
    eidx === label;
    packed <== p + label * (1 << 112);

    // Hidden layer. |acc1| <= 16*64*128 + 32768 < 2^18, so acc1 + 2^18 fits 19 bits and bit 18 is "acc1 >= 0".
    signal m1[8][16];
    signal h[8];
    component a1[8];
    for (var k = 0; k < 8; k++) {
        var acc = B1[k];
        for (var i = 0; i < 16; i++) {
            m1[k][i] <== W1[k][i] * x[i];
            acc += m1[k][i];
        }
        a1[k] = Num2Bits(19);
        a1[k].in <== acc + (1 << 18);
        var q = 0;
        for (var b = 6; b < 18; b++) {
            q += a1[k].out[b] * (1 << (b - 6));
        }
        h[k] <== a1[k].out[18] * q;
    }

    // Output layer. h < 2^12, so |acc2| <= 8*4095*128 + 32768 < 2^23.
    signal m2[10][8];
    signal acc2[10];
    for (var j = 0; j < 10; j++) {
        var acc = B2[j];
        for (var k = 0; k < 8; k++) {
            m2[j][k] <== W2[j][k] * h[k];
            acc += m2[j][k];
        }
        acc2[j] <== acc;
    }

    // Argmax with the first-index tie rule: correct iff acc2[label] > acc2[j] for j < label and
    // acc2[label] >= acc2[j] for j > label. d_j = acc2[label] - acc2[j] - [j < label] must be >= 0;
    // |d_j| < 2^24 so d_j + 2^24 fits 25 bits and bit 24 is "d_j >= 0".
    signal sel[10];
    var s = 0;
    for (var j = 0; j < 10; j++) {
        sel[j] <== e[j] * acc2[j];
        s += sel[j];
    }
    component cmp[10];
    signal run[10];
    for (var j = 0; j < 10; j++) {
        var lt = 0;
        for (var i = j + 1; i < 10; i++) {
            lt += e[i];
        }
        cmp[j] = Num2Bits(25);
        cmp[j].in <== s - acc2[j] - lt + (1 << 24);
        if (j == 0) {
            run[j] <== cmp[j].out[24];
        } else {
            run[j] <== run[j - 1] * cmp[j].out[24];
        }
    }
    correct <== run[9];
}

template DigitsMlpShard(N) {
    // Private: the model and the shard's rows.
    signal input W1[8][16];
    signal input B1[8];
    signal input W2[10][8];
    signal input B2[10];
    signal input x[N][16];
    signal input label[N];

    // Public inputs. chainIn links this shard to the previous one (0 for the first). The others are not used
    // by the arithmetic; they are public so that the proof is about this task, commit and submitter only.
    signal input chainIn;
    signal input task;
    signal input commitHi;
    signal input commitLo;
    signal input commitLen;
    signal input submitterHi;
    signal input submitterLo;

    signal output weightsCommitment;
    signal output shardCommitment;
    signal output chainOut;
    signal output correct;

    // Weights commitment: 208 int8 weights (W1 then W2, row-major) packed 31 per field element, then the 18 int16
    // biases (B1 then B2) packed 15 per element; Poseidon over the 9 elements.
    var wflat[208];
    for (var k = 0; k < 8; k++) for (var i = 0; i < 16; i++) wflat[k * 16 + i] = W1[k][i];
    for (var j = 0; j < 10; j++) for (var k = 0; k < 8; k++) wflat[128 + j * 8 + k] = W2[j][k];
    var bflat[18];
    for (var k = 0; k < 8; k++) bflat[k] = B1[k];
    for (var j = 0; j < 10; j++) bflat[8 + j] = B2[j];

    component wp[7];
    component wh = Poseidon(9);
    for (var c = 0; c < 7; c++) {
        var n = c < 6 ? 31 : 22;
        wp[c] = SignedPack(n, 8);
        for (var i = 0; i < n; i++) wp[c].in[i] <== wflat[c * 31 + i];
        wh.inputs[c] <== wp[c].out;
    }
    component bp0 = SignedPack(15, 16);
    for (var i = 0; i < 15; i++) bp0.in[i] <== bflat[i];
    component bp1 = SignedPack(3, 16);
    for (var i = 0; i < 3; i++) bp1.in[i] <== bflat[15 + i];
    wh.inputs[7] <== bp0.out;
    wh.inputs[8] <== bp1.out;
    weightsCommitment <== wh.out;

    // Shard commitment: a two-level Poseidon tree, since circomlib's Poseidon takes at most 16 inputs. Rows are
    // hashed 16 at a time (one packed row per input), then the N/16 chunk hashes are hashed together.
    assert(N % 16 == 0 && N / 16 <= 16);
    component smp[N];
    component chunk[N \ 16];
    component sh = Poseidon(N \ 16);
    var total = 0;
    for (var c = 0; c < N \ 16; c++) chunk[c] = Poseidon(16);
    for (var s = 0; s < N; s++) {
        smp[s] = Sample();
        smp[s].x <== x[s];
        smp[s].label <== label[s];
        smp[s].W1 <== W1;
        smp[s].B1 <== B1;
        smp[s].W2 <== W2;
        smp[s].B2 <== B2;
        chunk[s \ 16].inputs[s % 16] <== smp[s].packed;
        total += smp[s].correct;
    }
    for (var c = 0; c < N \ 16; c++) sh.inputs[c] <== chunk[c].out;
    shardCommitment <== sh.out;
    correct <== total;

    component ch = Poseidon(2);
    ch.inputs[0] <== chainIn;
    ch.inputs[1] <== sh.out;
    chainOut <== ch.out;

    // Threat: a public input with no constraint could be swapped after proving on some toolchains; squaring each
    // ties it into the constraint system explicitly.
    signal sq[6];
    sq[0] <== task * task;
    sq[1] <== commitHi * commitHi;
    sq[2] <== commitLo * commitLo;
    sq[3] <== commitLen * commitLen;
    sq[4] <== submitterHi * submitterHi;
    sq[5] <== submitterLo * submitterLo;
}

component main { public [chainIn, task, commitHi, commitLo, commitLen, submitterHi, submitterLo] } = DigitsMlpShard(64);
