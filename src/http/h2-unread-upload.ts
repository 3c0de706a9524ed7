/**
 * Ends HTTP/2 exchanges whose request body the handler stopped reading.
 *
 * connect-node refuses an oversized message (or fails mid-upload) without
 * reading the rest of the body, and it leaves its reader on the request
 * without closing it. The response goes out, but the stream never closes:
 * the client waits for flow-control credit, Node waits for someone to read
 * the buffered bytes before it emits `end`, and the session (and a graceful
 * shutdown) wait for that stream forever. So once the response's trailers
 * are queued, and while the client is still sending, this resets the stream
 * with NO_ERROR — RFC 9113 §8.1's "response complete, stop sending"; Node
 * flushes the queued trailers before the RST_STREAM — and discards whatever
 * was buffered so the stream can close.
 *
 * @example
 *   h2 handler: (req, res) => { if ("stream" in req) closeUnreadUpload(req.stream); adapter(req, res); }
 */
import * as http2 from "node:http2";

/**
 * Arms the stream: when its response is done and the upload is not, the
 * upload is cut off and the stream released.
 *
 * @example
 *   closeUnreadUpload(req.stream);
 */
export function closeUnreadUpload(stream: http2.ServerHttp2Stream): void {
  // The compat response always sends trailers (waitForTrailers), possibly
  // empty; its own listener queues them first, this one runs after it.
  stream.once("wantTrailers", () =>
    setImmediate(() => {
      if (stream.closed || stream.destroyed || stream.state.remoteClose) return;
      stream.close(http2.constants.NGHTTP2_NO_ERROR);
      const discard = (): void => {
        while (stream.read() !== null);
      };
      stream.on("readable", discard);
      discard();
    }),
  );
}
