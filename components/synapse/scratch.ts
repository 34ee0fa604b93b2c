/**
 * The media workers' scratch cleaner (pure renderer). The S3 storage provider keeps a local copy of
 * every medium it stores, and only one media worker runs Synapse's media retention: without a
 * cleaner each worker's store fills at the rate media arrive. Every copy is in the object store
 * before its request completes (store_synchronous), and Synapse fetches a missing one from there,
 * so the local store is a cache: copies older than the plan's window go, and above the plan's
 * threshold the oldest go first down to the window's size (the newest, still being read for
 * thumbnails, last; none younger than the minimum age).
 */
import type { SynapsePlan } from "../../sizing/types";

export type ScratchCleanup = SynapsePlan["scratch"]["cleanup"];

/** A POSIX shell loop (GNU find, sort, awk, du): the media store's path is its first argument. */
export function renderScratchCleaner(cleanup: ScratchCleanup): string {
  return `set -u
dir="$1"
trap 'exit 0' TERM INT
while :; do
  find "$dir" -type f -mmin +${cleanup.keepMinutes} -delete 2>/dev/null
  used=$(du -sm "$dir" | cut -f1)
  if [ "$used" -gt ${cleanup.trimAboveMiB} ]; then
    find "$dir" -type f -printf '%T@ %s %p\\n' | sort -n |
      awk -v now="$(date +%s)" -v over=$(( (used - ${cleanup.trimToMiB}) * 1048576 )) '$1 < now - ${cleanup.minAgeSeconds} && freed < over { print $3; freed += $2 }' |
      xargs -r -d '\\n' rm -f
    echo "media scratch: $used MiB used, above ${cleanup.trimAboveMiB} MiB: oldest copies removed, $(du -sm "$dir" | cut -f1) MiB left"
  fi
  find "$dir" -mindepth 1 -type d -empty -mmin +1 -delete 2>/dev/null
  sleep ${cleanup.everySeconds} & wait $!
done
`;
}
