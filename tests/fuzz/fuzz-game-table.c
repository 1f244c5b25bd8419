/* fuzz-game-table.c: libFuzzer harness for the LAN game announcement parsers
 *
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include "lr-game-table.h"

#include <string.h>

int LLVMFuzzerTestOneInput (const guint8 *data,
                            size_t        size);

typedef gboolean (*Parser) (LrGameAnnouncement *, const guint8 *, gsize, GError **);

int
LLVMFuzzerTestOneInput (const guint8 *data,
                        size_t        size)
{
  static const Parser parsers[] = {
    lr_game_parse_minecraft_java,
    lr_game_parse_raknet_pong,
    lr_game_parse_w3gs_gameinfo,
    lr_game_parse_a2s_info,
  };

  for (guint i = 0; i < G_N_ELEMENTS (parsers); i++)
    {
      g_auto(LrGameAnnouncement) a = { 0 };
      g_autoptr(GError) error = NULL;

      if (parsers[i] (&a, data, size, &error))
        {
          /* What a parser accepts is safe to show: a name of printable UTF-8. */
          if (a.name == NULL || !g_utf8_validate (a.name, -1, NULL) || error != NULL)
            __builtin_trap ();
        }
      else if (error == NULL || a.name != NULL || a.details != NULL || a.port != 0)
        __builtin_trap ();
    }
  return 0;
}
