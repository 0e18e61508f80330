package io.pgveil.proxy.session;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.pgveil.proxy.pgwire.MessageFramer;
import io.pgveil.proxy.pgwire.PgMessage;

/** The last handler of an upstream channel: hands what the server sends to the session it belongs to. */
final class UpstreamEvents extends ChannelInboundHandlerAdapter {
    private final ClientSession session;

    UpstreamEvents(ClientSession session) {
        this.session = session;
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (msg instanceof PgMessage m) {
            session.onServerMessage(m);
        } else {
            session.onServerBytes((ByteBuf) msg);
        }
    }

    @Override
    public void channelReadComplete(ChannelHandlerContext ctx) {
        session.onServerReadComplete();
    }

    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
        if (evt == MessageFramer.RESUMED) {
            session.onServerResumed();
        } else {
            ctx.fireUserEventTriggered(evt);
        }
    }

    @Override
    public void channelWritabilityChanged(ChannelHandlerContext ctx) {
        session.onServerWritabilityChanged();
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        session.onServerClosed();
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        session.onServerException(cause);
    }
}
