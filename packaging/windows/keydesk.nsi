; Keydesk's per-user Windows installer (NSIS 3, built on Linux by
; `make windows` with Debian's makensis).
;
; It installs without administrator rights into
; %LOCALAPPDATA%\Programs\Keydesk, adds a Start-menu shortcut, an entry in
; Apps & features (HKCU) with an uninstaller and, optionally (on by
; default), puts the install folder on the user's PATH so that "keydesk" in
; cmd.exe or PowerShell runs keydesk.com, the console build of the same
; program. Silent: Keydesk-<version>-setup.exe /S, and uninstall.exe /S.
; The data folder (%AppData%\Keydesk) and the Credential Manager entries
; are the user's and stay on uninstall.
;
; makensis -DVERSION=0.1.0 -DVERSION4=0.1.0.1 -DSRCDIR=dist/windows
;          -DOUTFILE=dist/Keydesk-0.1.0-setup.exe packaging/windows/keydesk.nsi

Unicode true
Target amd64-unicode
SetCompressor /SOLID lzma
; Keydesk.exe and keydesk.com are nearly the same bytes: a dictionary
; larger than one binary lets the solid block store the second almost free.
SetCompressorDictSize 64
ManifestDPIAware true

!ifndef VERSION
  !error "define VERSION (e.g. -DVERSION=0.1.0)"
!endif
!ifndef VERSION4
  !define VERSION4 "${VERSION}.0"
!endif
!ifndef SRCDIR
  !error "define SRCDIR, the folder holding Keydesk.exe, keydesk.com and keydesk.ico"
!endif
!ifndef OUTFILE
  !define OUTFILE "Keydesk-${VERSION}-setup.exe"
!endif

!define APPNAME "Keydesk"
!define UNINSTKEY "Software\Microsoft\Windows\CurrentVersion\Uninstall\Keydesk"
!define ENVKEY "Environment"

!include "MUI2.nsh"
!include "LogicLib.nsh"
!include "StrFunc.nsh"
!include "WinMessages.nsh"
${StrStr}
${UnStrRep}

Name "${APPNAME}"
OutFile "${OUTFILE}"
RequestExecutionLevel user
InstallDir "$LOCALAPPDATA\Programs\Keydesk"
InstallDirRegKey HKCU "${UNINSTKEY}" "InstallLocation"
BrandingText "${APPNAME} ${VERSION}"

VIProductVersion "${VERSION4}"
VIAddVersionKey "ProductName" "${APPNAME}"
VIAddVersionKey "ProductVersion" "${VERSION}"
VIAddVersionKey "FileVersion" "${VERSION}"
VIAddVersionKey "FileDescription" "${APPNAME} ${VERSION} setup"
VIAddVersionKey "LegalCopyright" "Keydesk"

!define MUI_ICON "${SRCDIR}\keydesk.ico"
!define MUI_UNICON "${SRCDIR}\keydesk.ico"
!define MUI_FINISHPAGE_RUN "$INSTDIR\Keydesk.exe"
!define MUI_FINISHPAGE_RUN_TEXT "Open Keydesk"
!define MUI_COMPONENTSPAGE_NODESC

!insertmacro MUI_PAGE_COMPONENTS
!insertmacro MUI_PAGE_DIRECTORY
!insertmacro MUI_PAGE_INSTFILES
!insertmacro MUI_PAGE_FINISH
!insertmacro MUI_UNPAGE_CONFIRM
!insertmacro MUI_UNPAGE_INSTFILES
!insertmacro MUI_LANGUAGE "English"

Section "Keydesk (required)" SecApp
  SectionIn RO
  SetShellVarContext current
  SetOutPath "$INSTDIR"
  File "${SRCDIR}\Keydesk.exe"
  File "${SRCDIR}\keydesk.com"
  WriteUninstaller "$INSTDIR\uninstall.exe"

  CreateShortcut "$SMPROGRAMS\Keydesk.lnk" "$INSTDIR\Keydesk.exe" "" "$INSTDIR\Keydesk.exe" 0 SW_SHOWNORMAL "" "Issue and manage Company API Keys"

  WriteRegStr HKCU "${UNINSTKEY}" "DisplayName" "${APPNAME}"
  WriteRegStr HKCU "${UNINSTKEY}" "DisplayVersion" "${VERSION}"
  WriteRegStr HKCU "${UNINSTKEY}" "Publisher" "Keydesk"
  WriteRegStr HKCU "${UNINSTKEY}" "DisplayIcon" "$INSTDIR\Keydesk.exe,0"
  WriteRegStr HKCU "${UNINSTKEY}" "InstallLocation" "$INSTDIR"
  WriteRegStr HKCU "${UNINSTKEY}" "UninstallString" '"$INSTDIR\uninstall.exe"'
  WriteRegStr HKCU "${UNINSTKEY}" "QuietUninstallString" '"$INSTDIR\uninstall.exe" /S'
  WriteRegDWORD HKCU "${UNINSTKEY}" "NoModify" 1
  WriteRegDWORD HKCU "${UNINSTKEY}" "NoRepair" 1
  SectionGetSize ${SecApp} $0
  WriteRegDWORD HKCU "${UNINSTKEY}" "EstimatedSize" $0
SectionEnd

; The user's PATH (HKCU\Environment), so that "keydesk ..." works in a new
; cmd.exe or PowerShell window.
Section "Add keydesk to my PATH (command line)" SecPath
  ReadRegStr $0 HKCU "${ENVKEY}" "Path"
  StrLen $1 $0
  ; NSIS strings hold 1024 characters: a longer PATH would be cut short
  ; when written back, so leave it alone and say so.
  ${If} $1 > 900
    DetailPrint "Your PATH is too long to change safely; add $INSTDIR to it yourself."
    Return
  ${EndIf}
  ${StrStr} $2 ";$0;" ";$INSTDIR;"
  ${If} $2 != ""
    Return
  ${EndIf}
  ${If} $0 == ""
    StrCpy $0 "$INSTDIR"
  ${Else}
    StrCpy $0 "$0;$INSTDIR"
  ${EndIf}
  WriteRegExpandStr HKCU "${ENVKEY}" "Path" "$0"
  WriteRegDWORD HKCU "${UNINSTKEY}" "AddedToPath" 1
  SendMessage ${HWND_BROADCAST} ${WM_SETTINGCHANGE} 0 "STR:Environment" /TIMEOUT=2000
SectionEnd

Section "Uninstall"
  SetShellVarContext current
  Delete "$SMPROGRAMS\Keydesk.lnk"
  Delete "$INSTDIR\Keydesk.exe"
  Delete "$INSTDIR\keydesk.com"
  Delete "$INSTDIR\uninstall.exe"
  RMDir "$INSTDIR"

  ReadRegDWORD $3 HKCU "${UNINSTKEY}" "AddedToPath"
  ${If} $3 == 1
    ReadRegStr $0 HKCU "${ENVKEY}" "Path"
    StrLen $1 $0
    ${If} $1 <= 1000
      ; Remove every ";$INSTDIR" from ";PATH;" and trim the ends.
      ${UnStrRep} $0 ";$0;" ";$INSTDIR;" ";"
      ${UnStrRep} $0 "$0" ";;" ";"
      StrCpy $0 "$0" "" 1
      StrCpy $0 "$0" -1
      ${If} $0 == ""
        DeleteRegValue HKCU "${ENVKEY}" "Path"
      ${Else}
        WriteRegExpandStr HKCU "${ENVKEY}" "Path" "$0"
      ${EndIf}
      SendMessage ${HWND_BROADCAST} ${WM_SETTINGCHANGE} 0 "STR:Environment" /TIMEOUT=2000
    ${EndIf}
  ${EndIf}
  DeleteRegKey HKCU "${UNINSTKEY}"
SectionEnd
