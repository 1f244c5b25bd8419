/* lrc-frame-meter.c
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#define G_LOG_DOMAIN "lanrage-control"

#include "lrc-frame-meter.h"

#include "lr-ws-meter.h"

/*
 * libsoup 3.2's SoupWebsocketConnection bounds one frame (max-incoming-payload-size) but
 * gathers the fragments of a message without limit: 134 fragments of 60,000 bytes grew the
 * server by 8 MB. This stream sits between the client's bytes and the SoupWebsocketConnection
 * and reads the frame headers as they pass (LrWsMeter), adding up the payload of each
 * message's data frames. When a message would exceed the limit, the bytes from that
 * frame's header on are held back, and everything the client sends after is read and
 * dropped, so libsoup never holds more than the limit; the stream emits "message-too-large"
 * once, for its owner to close the socket with 1009.
 *
 * permessage-deflate is not negotiated on these sockets, so the payload counted here is the
 * payload libsoup gathers.
 */

struct _LrcFrameMeter
{
  GInputStream  parent_instance;
  GIOStream    *base;
  GInputStream *input;
  LrWsMeter     meter;
};

enum
{
  MESSAGE_TOO_LARGE,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

static void pollable_iface_init (GPollableInputStreamInterface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE (LrcFrameMeter, lrc_frame_meter, G_TYPE_INPUT_STREAM,
                               G_IMPLEMENT_INTERFACE (G_TYPE_POLLABLE_INPUT_STREAM,
                                                      pollable_iface_init))

/* Walks @count bytes just read; returns how many of them may go on to the reader. */
static gsize
inspect (LrcFrameMeter *self,
         const guint8  *data,
         gsize          count)
{
  gboolean was_over = self->meter.over;
  gsize passed = lr_ws_meter_feed (&self->meter, data, count);

  if (self->meter.over && !was_over)
    g_signal_emit (self, signals[MESSAGE_TOO_LARGE], 0);
  return passed;
}

/* Once over the limit: reads what is there and drops it. Ends as a read would: with the end
 * of the stream, an error, or G_IO_ERROR_WOULD_BLOCK once nothing is left. */
static gssize
drain (LrcFrameMeter  *self,
       GCancellable   *cancellable,
       GError        **error)
{
  guint8 scrap[16384];

  for (;;)
    {
      gssize n = g_pollable_input_stream_read_nonblocking (G_POLLABLE_INPUT_STREAM (self->input),
                                                           scrap, sizeof scrap, cancellable,
                                                           error);
      if (n <= 0)
        return n;
    }
}

static gssize
read_nonblocking (GPollableInputStream  *stream,
                  void                  *buffer,
                  gsize                  count,
                  GError               **error)
{
  LrcFrameMeter *self = LRC_FRAME_METER (stream);
  gssize n;
  gsize passed;

  if (!self->meter.over)
    {
      n = g_pollable_input_stream_read_nonblocking (G_POLLABLE_INPUT_STREAM (self->input),
                                                    buffer, count, NULL, error);
      if (n <= 0)
        return n;

      passed = inspect (self, buffer, (gsize) n);
      if (passed > 0 || !self->meter.over)
        return (gssize) passed;
    }

  /* Over the limit: nothing more goes up, and the client's bytes are not left to pile up in
   * the kernel either. The end of the stream still goes up, so libsoup closes. */
  return drain (self, NULL, error);
}

static gboolean
is_readable (GPollableInputStream *stream)
{
  LrcFrameMeter *self = LRC_FRAME_METER (stream);

  return g_pollable_input_stream_is_readable (G_POLLABLE_INPUT_STREAM (self->input));
}

static gboolean
can_poll (GPollableInputStream *stream)
{
  LrcFrameMeter *self = LRC_FRAME_METER (stream);

  return G_IS_POLLABLE_INPUT_STREAM (self->input) &&
         g_pollable_input_stream_can_poll (G_POLLABLE_INPUT_STREAM (self->input));
}

static GSource *
create_source (GPollableInputStream *stream,
               GCancellable         *cancellable)
{
  LrcFrameMeter *self = LRC_FRAME_METER (stream);
  g_autoptr(GSource) base = NULL;

  base = g_pollable_input_stream_create_source (G_POLLABLE_INPUT_STREAM (self->input), NULL);
  return g_pollable_source_new_full (self, base, cancellable);
}

static void
pollable_iface_init (GPollableInputStreamInterface *iface)
{
  iface->can_poll = can_poll;
  iface->is_readable = is_readable;
  iface->create_source = create_source;
  iface->read_nonblocking = read_nonblocking;
}

/* Blocking reads: libsoup's WebSocket reads without blocking, but a stream must have both. */
static gssize
read_fn (GInputStream  *stream,
         void          *buffer,
         gsize          count,
         GCancellable  *cancellable,
         GError       **error)
{
  LrcFrameMeter *self = LRC_FRAME_METER (stream);
  gssize n;

  if (self->meter.over)
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_MESSAGE_TOO_LARGE,
                           "The client sent a message over the size limit");
      return -1;
    }

  n = g_input_stream_read (self->input, buffer, count, cancellable, error);
  if (n <= 0)
    return n;
  return (gssize) inspect (self, buffer, (gsize) n);
}

static gboolean
close_fn (GInputStream  *stream,
          GCancellable  *cancellable,
          GError       **error)
{
  LrcFrameMeter *self = LRC_FRAME_METER (stream);

  return g_io_stream_close (self->base, cancellable, error);
}

static void
lrc_frame_meter_dispose (GObject *object)
{
  LrcFrameMeter *self = LRC_FRAME_METER (object);

  g_clear_object (&self->input);
  g_clear_object (&self->base);

  G_OBJECT_CLASS (lrc_frame_meter_parent_class)->dispose (object);
}

static void
lrc_frame_meter_class_init (LrcFrameMeterClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GInputStreamClass *stream_class = G_INPUT_STREAM_CLASS (klass);

  object_class->dispose = lrc_frame_meter_dispose;
  stream_class->read_fn = read_fn;
  stream_class->close_fn = close_fn;

  /**
   * LrcFrameMeter::message-too-large:
   *
   * A message went over the limit; what follows it is dropped. Emitted once, from a read.
   */
  signals[MESSAGE_TOO_LARGE] = g_signal_new ("message-too-large", G_TYPE_FROM_CLASS (klass),
                                             G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                                             G_TYPE_NONE, 0);
}

static void
lrc_frame_meter_init (LrcFrameMeter *self)
{
}

/**
 * lrc_frame_meter_new:
 * @base: the connection's stream; closing the meter closes it
 *
 * Returns: (transfer full): an input stream over @base's input
 */
LrcFrameMeter *
lrc_frame_meter_new (GIOStream *base,
                     guint64    max_message_size)
{
  LrcFrameMeter *self = g_object_new (LRC_TYPE_FRAME_METER, NULL);

  self->base = g_object_ref (base);
  self->input = g_object_ref (g_io_stream_get_input_stream (base));
  lr_ws_meter_init (&self->meter, max_message_size);
  return self;
}
