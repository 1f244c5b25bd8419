#!/bin/sh
# Every translation compiles, and each is complete for the strings the sources have now:
# a string added to the app without its translation fails here.
#   check-translations.sh SOURCE_ROOT
set -eu
root="$1"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cd "$root"
# The same keywords as meson's i18n "glib" preset.
xgettext --from-code=UTF-8 --add-comments --files-from=po/POTFILES.in --directory=. \
  --keyword=_ --keyword=N_ --keyword=C_:1c,2 --keyword=NC_:1c,2 \
  --keyword=g_dcgettext:2 --keyword=g_dngettext:2,3 --keyword=g_dpgettext2:2c,3 \
  --flag=N_:1:pass-c-format --flag=C_:2:pass-c-format --flag=NC_:2:pass-c-format \
  --flag=g_dngettext:2:pass-c-format --flag=g_strdup_printf:1:c-format \
  --flag=g_string_printf:2:c-format --flag=g_string_append_printf:2:c-format \
  --flag=g_error_new:3:c-format --flag=g_set_error:4:c-format \
  -o "$tmp/lanrage.pot"
for lang in $(grep -v '^#' po/LINGUAS); do
  msgfmt --check --statistics -o /dev/null "po/$lang.po"
  msgcmp "po/$lang.po" "$tmp/lanrage.pot"
  # msgcmp accepts fuzzy and empty entries as present: refuse them too.
  if msgattrib --only-fuzzy "po/$lang.po" | grep -q '^msgid'; then
    echo "po/$lang.po has fuzzy entries" >&2
    exit 1
  fi
  if msgattrib --untranslated "po/$lang.po" | grep -q '^msgid'; then
    echo "po/$lang.po has untranslated entries" >&2
    exit 1
  fi
done
