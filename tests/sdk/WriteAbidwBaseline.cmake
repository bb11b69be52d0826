# cmake -DABIDW=... -DLIBRARY=... -DOUTPUT=... -DSOURCE_DIR=... -P WriteAbidwBaseline.cmake
# Writes the abidw baseline of the plugin ABI surface library, once: a released baseline is
# never rewritten. Source paths are made relative so the file does not name a checkout.
if(EXISTS "${OUTPUT}")
  message(FATAL_ERROR "${OUTPUT} exists; a released baseline is never rewritten: bump HOSTD_ABI_MINOR for a new one")
endif()
execute_process(COMMAND "${ABIDW}" --no-corpus-path --no-comp-dir-path --no-show-locs --out-file "${OUTPUT}" "${LIBRARY}"
                COMMAND_ERROR_IS_FATAL ANY)
file(READ "${OUTPUT}" xml)
string(REPLACE "${SOURCE_DIR}/" "" xml "${xml}")
file(WRITE "${OUTPUT}" "${xml}")
