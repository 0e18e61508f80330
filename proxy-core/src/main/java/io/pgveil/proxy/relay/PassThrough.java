package io.pgveil.proxy.relay;

/** The result goes to the client as the server sent it; rows stream past as raw bytes. */
final class PassThrough implements ResultHandler {
    static final PassThrough INSTANCE = new PassThrough();

    private PassThrough() {
    }
}
