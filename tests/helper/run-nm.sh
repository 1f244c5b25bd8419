#!/bin/sh
# run-nm.sh DIR NETNS: a real NetworkManager for tests, in its own network namespace and a
# private mount namespace (ip netns exec makes one), on the private system bus whose socket
# is DIR/bus. Its config, state and run folders are DIR/{etc,lib,run}, bind-mounted over the
# real ones inside that mount namespace only; /sys is read-only so NetworkManager does not
# wait for udev. Only the WireGuard devices it creates itself are managed (LAB.md).
# Runs in the foreground: the test kills it by pid.
set -eu
dir=$1
netns=$2

mkdir -p "$dir/etc/conf.d" "$dir/etc/system-connections" "$dir/lib" "$dir/run"
cat > "$dir/etc/NetworkManager.conf" <<CONF
[main]
plugins=keyfile
dns=none
rc-manager=unmanaged
hostname-mode=none
auth-polkit=false
[keyfile]
unmanaged-devices=*,except:type:wireguard
[logging]
level=INFO
CONF

exec ip netns exec "$netns" sh -c '
  set -e
  mount --bind "$1/etc" /etc/NetworkManager
  mount --bind "$1/lib" /var/lib/NetworkManager
  mount --bind "$1/run" /run/NetworkManager 2>/dev/null || { mkdir -p /run/NetworkManager; mount --bind "$1/run" /run/NetworkManager; }
  mount -o remount,ro,bind /sys
  export DBUS_SYSTEM_BUS_ADDRESS="unix:path=$1/bus"
  exec /usr/sbin/NetworkManager --no-daemon --config=/etc/NetworkManager/NetworkManager.conf
' run-nm "$dir"
