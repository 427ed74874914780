# Fails when the relocatable object OBJ references a symbol it does not
# define and whose name does not match the regular expression ALLOW.
# Run by the build: cmake -DOBJ=x.o -DNM=nm -DALLOW=regex -P this-file
execute_process(COMMAND ${NM} -u ${OBJ} OUTPUT_VARIABLE out RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "nm failed on ${OBJ}")
endif()
string(REGEX MATCHALL "U [A-Za-z0-9_.]+" syms "${out}")
set(bad "")
foreach(s ${syms})
  string(SUBSTRING "${s}" 2 -1 name)
  if(NOT name MATCHES "${ALLOW}")
    list(APPEND bad ${name})
  endif()
endforeach()
if(bad)
  message(FATAL_ERROR "${OBJ}: freestanding code references symbols it does not define: ${bad}")
endif()
