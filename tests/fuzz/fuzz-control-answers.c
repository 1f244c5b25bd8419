/* fuzz-control-answers.c: libFuzzer harness for the client's parsers of the server's answers
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Everything lanrage-helper reads from lanrage-control goes through one of these. The first
 * byte picks the parser so one corpus covers them all.
 */
#include "lr-control-answers.h"
#include "lr-error.h"
#include "lr-json.h"

#include <stdint.h>

int LLVMFuzzerTestOneInput (const uint8_t *data,
                            size_t         size);

int
LLVMFuzzerTestOneInput (const uint8_t *data,
                        size_t         size)
{
  const char *text;
  gsize length;
  g_autoptr(JsonNode) root = NULL;

  if (size < 1 || size > LR_MAX_BODY_SIZE)
    return 0;

  lr_init ();
  text = (const char *) data + 1;
  length = size - 1;

  if (data[0] % 7 == 0)
    {
      lr_event_free (lr_event_parse (text, length, NULL));
      return 0;
    }
  if (data[0] % 7 == 1)
    {
      lr_join_answer_free (lr_join_answer_parse (text, length, NULL));
      return 0;
    }

  root = lr_json_parse_object (text, length, NULL);
  switch (data[0] % 7)
    {
    case 2:
      lr_relay_token_answer_free (lr_relay_token_answer_parse_node (root, NULL));
      break;
    case 3:
      g_strfreev (lr_relay_list_parse_node (root, NULL));
      break;
    case 4:
      lr_party_view_free (lr_party_view_parse_node (root, NULL));
      break;
    case 5:
      {
        GBytes *packet = lr_disco_signal_parse (root, NULL);

        g_clear_pointer (&packet, g_bytes_unref);
      }
      break;
    default:
      lr_error_answer_free (lr_error_answer_parse_node (root));
      break;
    }
  return 0;
}
