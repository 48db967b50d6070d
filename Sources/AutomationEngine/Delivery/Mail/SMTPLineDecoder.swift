import NIOCore

/// Splits what an SMTP server sends into lines (without the CR LF), refusing a line longer
/// than 4,096 bytes so a broken or hostile server cannot make Herald buffer without end
/// (RFC 5321 allows reply lines of 512).
struct SMTPLineDecoder: ByteToMessageDecoder {
    typealias InboundOut = ByteBuffer

    static let maximumLineLength = 4_096

    mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        guard let newline = buffer.readableBytesView.firstIndex(of: UInt8(ascii: "\n")) else {
            if buffer.readableBytes > Self.maximumLineLength { throw SMTPProtocolError("the server sent a line of more than 4096 bytes") }
            return .needMoreData
        }
        var line = buffer.readSlice(length: newline - buffer.readerIndex + 1)!
        line.moveWriterIndex(to: line.writerIndex - 1)
        if line.readableBytesView.last == UInt8(ascii: "\r") { line.moveWriterIndex(to: line.writerIndex - 1) }
        context.fireChannelRead(Self.wrapInboundOut(line))
        return .continue
    }

    mutating func decodeLast(context: ChannelHandlerContext, buffer: inout ByteBuffer, seenEOF: Bool) throws -> DecodingState {
        while try decode(context: context, buffer: &buffer) == .continue {}
        return .needMoreData
    }
}
