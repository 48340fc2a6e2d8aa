# Install rules: `make install` (PREFIX, DESTDIR) and `cmake --install BUILD [--prefix P]`, and
# the tree the Debian package is made from (scripts/make-deb.sh). What goes where:
#   PREFIX/bin/mailroom
#   /etc/mailroom/mailroom.toml           the binary's default config path, whatever the prefix
#   PREFIX/lib/systemd/system/mailroom.service   (ExecStart names PREFIX/bin/mailroom)
#   PREFIX/lib/sysusers.d/mailroom.conf, PREFIX/lib/tmpfiles.d/mailroom.conf
# systemd searches /usr/local/lib/... and /usr/lib/... alike. An existing mailroom.toml is never
# overwritten: the new one goes beside it as mailroom.toml.new.
include(GNUInstallDirs)
set(MAILROOM_SYSCONFDIR "/etc" CACHE PATH "Where mailroom/mailroom.toml is installed (the binary looks in /etc)")

install(TARGETS mailroom RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})

# The unit is made at install time, so that `cmake --install --prefix P` names P's binary.
install(CODE "
  set(MAILROOM_BINDIR \"\${CMAKE_INSTALL_PREFIX}/${CMAKE_INSTALL_BINDIR}\")
  configure_file(\"${PROJECT_SOURCE_DIR}/packaging/mailroom.service.in\"
                 \"${PROJECT_BINARY_DIR}/packaging/mailroom.service\" @ONLY)
")
install(FILES ${PROJECT_BINARY_DIR}/packaging/mailroom.service DESTINATION lib/systemd/system)
install(FILES packaging/mailroom.sysusers DESTINATION lib/sysusers.d RENAME mailroom.conf)
install(FILES packaging/mailroom.tmpfiles DESTINATION lib/tmpfiles.d RENAME mailroom.conf)

install(CODE "
  set(dir \"\$ENV{DESTDIR}${MAILROOM_SYSCONFDIR}/mailroom\")
  set(src \"${PROJECT_SOURCE_DIR}/packaging/mailroom.toml\")
  file(MAKE_DIRECTORY \"\${dir}\")
  if(NOT EXISTS \"\${dir}/mailroom.toml\")
    message(STATUS \"Installing: \${dir}/mailroom.toml\")
    file(COPY_FILE \"\${src}\" \"\${dir}/mailroom.toml\")
  else()
    file(READ \"\${dir}/mailroom.toml\" have)
    file(READ \"\${src}\" want)
    if(NOT have STREQUAL want)
      message(STATUS \"Kept: \${dir}/mailroom.toml (yours); the new default is mailroom.toml.new\")
      file(COPY_FILE \"\${src}\" \"\${dir}/mailroom.toml.new\")
    else()
      message(STATUS \"Up-to-date: \${dir}/mailroom.toml\")
    endif()
  endif()
")
