pragma circom 2.1.0;

// Test-only circuit with the same public-signal count as digits-mlp (4 outputs, 7 inputs) but none of its
// arithmetic. Proofs made with its key must be refused by the digits-mlp verification key (test/zk).
template OtherKey() {
    signal input a;
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
    weightsCommitment <== a * a;
    shardCommitment <== a * chainIn;
    chainOut <== a * task;
    signal t[5];
    t[0] <== commitHi * commitLo;
    t[1] <== commitLen * submitterHi;
    t[2] <== submitterLo * submitterLo;
    t[3] <== t[0] * t[1];
    t[4] <== t[3] * t[2];
    correct <== a + 0 * t[4];
}

component main { public [chainIn, task, commitHi, commitLo, commitLen, submitterHi, submitterLo] } = OtherKey();
