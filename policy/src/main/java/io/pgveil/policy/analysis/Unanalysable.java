package io.pgveil.policy.analysis;

/** SQL pgveil cannot analyse with confidence; the reason goes into the denial. */
public final class Unanalysable extends Exception {
    private final boolean gap;

    public Unanalysable(String reason) {
        this(reason, false);
    }

    private Unanalysable(String reason, boolean gap) {
        super(reason, null, false, false);
        this.gap = gap;
    }

    /** The statement parsed, but the {@link Witness} found something in it the analysis did not account for. */
    static Unanalysable gap(Witness.Gap gap) {
        return new Unanalysable("the analysis did not account for the " + gap.describe(), true);
    }

    /** Whether this is a gap in the analysis (refused whatever the policy says about unparsed SQL). */
    public boolean isGap() {
        return gap;
    }
}
