# Sourced by ./edgesplit and .ci/run: finds a JDK >= 21 in JAVA_HOME, on PATH, then /usr/lib/jvm/*.

edgesplit_java_major() {
  # Prints the major version of the given java binary, or nothing.
  local v
  v="$("$1" -version 2>&1 | awk -F '"' '/version/ {print $2; exit}')" || return 1
  case "$v" in
    1.*) echo "${v#1.}" | cut -d. -f1 ;;
    *) echo "$v" | cut -d. -f1 | cut -d- -f1 | cut -d+ -f1 ;;
  esac
}

edgesplit_jdk_ok() {
  # A JDK (not just a JRE: javac is needed to build) of version 21 or newer.
  local home="$1" major
  [ -x "$home/bin/java" ] && [ -x "$home/bin/javac" ] || return 1
  major="$(edgesplit_java_major "$home/bin/java")"
  [ -n "$major" ] && [ "$major" -ge 21 ] 2>/dev/null
}

edgesplit_find_jdk() {
  local candidate
  if [ -n "${JAVA_HOME:-}" ] && edgesplit_jdk_ok "$JAVA_HOME"; then
    echo "$JAVA_HOME"; return 0
  fi
  if command -v java >/dev/null 2>&1; then
    candidate="$(dirname "$(dirname "$(readlink -f "$(command -v java)")")")"
    if edgesplit_jdk_ok "$candidate"; then
      echo "$candidate"; return 0
    fi
  fi
  for candidate in $(ls -d /usr/lib/jvm/*/ 2>/dev/null | sort -rV); do
    candidate="${candidate%/}"
    if edgesplit_jdk_ok "$candidate"; then
      echo "$candidate"; return 0
    fi
  done
  return 1
}
