# bash completion for supervisorctl (supervisor-cpp).
# Completes options, commands, and program/group names as the server lists
# them (`supervisorctl avail`, asked with the -c/-s/-u/-p options already on
# the command line).

# Program names ("group:name", or "name" when the group has the same name).
_supervisorctl_programs() {
  command supervisorctl "$@" avail 2>/dev/null | awk 'NF { print $1 }'
}

# Group names, derived from the program names.
_supervisorctl_groups() {
  _supervisorctl_programs "$@" | awk '{ sub(/:.*/, ""); print }' | sort -u
}

_supervisorctl() {
  # Split the line ourselves: COMP_WORDS is broken at ':' and '=', which
  # server URLs (unix:///path) and group:name specs contain.
  local line=${COMP_LINE:0:COMP_POINT}
  local -a words
  read -r -a words <<< "$line"
  [[ $line =~ [[:space:]]$ ]] && words+=("")
  local cword=$(( ${#words[@]} - 1 ))
  local cur=${words[cword]}
  local prev=""
  (( cword > 0 )) && prev=${words[cword-1]}

  local commands="add avail clear exit fg help maintail open pid quit reload remove reread restart shutdown signal start status stop tail update version"
  local -a conn=()
  local cmd="" cmd_index=0 i=1
  while (( i < cword )); do
    case ${words[i]} in
      -c|--configuration|-s|--serverurl|-u|--username|-p|--password)
        conn+=("${words[i]}" "${words[i+1]}"); (( i += 2 )); continue ;;
      -r|--history-file) (( i += 2 )); continue ;;
      --configuration=*|--serverurl=*|--username=*|--password=*) conn+=("${words[i]}") ;;
      -*) ;;
      *) cmd=${words[i]}; cmd_index=$i; break ;;
    esac
    (( i++ ))
  done

  local candidates=""
  if [[ -z $cmd ]]; then
    case $prev in
      -c|--configuration|-r|--history-file)
        mapfile -t COMPREPLY < <(compgen -f -- "$cur"); return 0 ;;
      -s|--serverurl|-u|--username|-p|--password)
        COMPREPLY=(); return 0 ;;
    esac
    if [[ $cur == -* ]]; then
      candidates="-c --configuration -i --interactive -s --serverurl -u --username -p --password -r --history-file -h --help"
    else
      candidates=$commands
    fi
  else
    local argn=$(( cword - cmd_index ))  # 1 = first argument of the command
    case $cmd in
      start|stop|restart|clear)
        candidates="all $(_supervisorctl_programs "${conn[@]}") $(_supervisorctl_groups "${conn[@]}" | sed 's/$/:*/')" ;;
      status|pid|fg)
        candidates="$(_supervisorctl_programs "${conn[@]}")" ;;
      tail)
        if [[ $prev == -f || $argn == 1 || $prev == -[0-9]* ]]; then
          candidates="-f $(_supervisorctl_programs "${conn[@]}")"
        else
          candidates="stdout stderr"
        fi ;;
      signal)
        if (( argn == 1 )); then
          candidates="TERM HUP INT QUIT KILL USR1 USR2 STOP CONT"
        else
          candidates="all $(_supervisorctl_programs "${conn[@]}")"
        fi ;;
      add|remove)
        candidates="$(_supervisorctl_groups "${conn[@]}")" ;;
      update)
        candidates="all $(_supervisorctl_groups "${conn[@]}")" ;;
      maintail)
        candidates="-f" ;;
      help)
        (( argn == 1 )) && candidates=$commands ;;
    esac
  fi
  # mapfile: no globbing of "group:*" candidates.
  mapfile -t COMPREPLY < <(compgen -W "$candidates" -- "$cur")
  # bash replaces only the part of the word after the last ':' when ':' is a
  # word break: drop the part already typed.
  if [[ $cur == *:* && $COMP_WORDBREAKS == *:* ]]; then
    local prefix=${cur%"${cur##*:}"}
    local k
    for k in "${!COMPREPLY[@]}"; do COMPREPLY[k]=${COMPREPLY[k]#"$prefix"}; done
  fi
  return 0
}

complete -F _supervisorctl supervisorctl
